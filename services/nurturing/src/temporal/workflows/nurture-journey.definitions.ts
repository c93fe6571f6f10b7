import type { Actor, Intent } from '@leadflow/contracts/common';
import type { PayloadOf } from '@leadflow/contracts/events';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ActingPrincipal } from '../../domain/lifecycle-rules.js';
import type { MaterialKind, NurtureHorizon, ReverificationOutcome } from '../../domain/nurture-journey.js';

// The nurture journey workflow's surface (one per lead while it is nurtured: `nurture-${leadId}`).

export const NURTURE_JOURNEY_WORKFLOW = 'nurtureJourneyWorkflow';

export function journeyWorkflowId(leadId: string): string {
  return `nurture-${leadId}`;
}

export type EnrolmentReason = PayloadOf<'lead.nurture_enrolled'>['reason'];
export type HandBackReason = PayloadOf<'lead.nurture_handed_back'>['reason'];

export interface JourneyInput {
  leadId: string;
  oemId: string;
  dealerId?: string;
  reason: EnrolmentReason;
  horizon: NurtureHorizon;
  tags: string[];
  /** The first outbound call: the first material goes out that day (now, when it is today). */
  firstCallAt: string;
  timeZone: string;
  enrolledBy: Actor;
  correlationId: string;
  resume?: JourneyState;
}

export type JourneyStatus = 'active' | 'handed_back' | 'archived';

export interface JourneyState {
  workflowId: string;
  journeyId: string;
  leadId: string;
  oemId: string;
  dealerId?: string;
  status: JourneyStatus;
  reason: EnrolmentReason;
  horizon: NurtureHorizon;
  tags: string[];
  timeZone: string;
  correlationId: string;
  enrolledAt: string;
  sequence: number;
  sentMaterialIds: string[];
  previousKind?: MaterialKind;
  firstSendAt?: string;
  nextSendAt: string;
  reverifications: number;
  /** The next re-verification, once the first material went out. */
  nextReverifyAt?: string;
  /** Set while a re-verification is due and not yet recorded. */
  reverifyDueSince?: string;
  unreachableStreak: number;
  history: { action: string; at: string; actor: Actor }[];
}

export interface ReverifyInput {
  by: ActingPrincipal;
  outcome: ReverificationOutcome;
  intent?: Intent;
  horizon?: NurtureHorizon;
  tags?: string[];
  correlationId: string;
}

export interface HandBackInput {
  by: ActingPrincipal;
  reason: HandBackReason;
  intent?: Intent;
  correlationId: string;
}

export interface JourneyResult {
  journeyId: string;
  status: JourneyStatus;
  eventIds: string[];
  nextSendAt?: string;
  nextReverifyAt?: string;
}

export const reverifyUpdate = defineUpdate<JourneyResult, [ReverifyInput]>('reverify');
export const handBackUpdate = defineUpdate<JourneyResult, [HandBackInput]>('handBack');
export const journeyQuery = defineQuery<JourneyState>('journey');
