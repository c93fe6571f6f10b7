import type { ChannelL1, ChannelL2, ChannelRef } from '@leadflow/contracts/common';

/** An L3 channel as configured by the OEM (site, campaign or event). */
export interface Channel {
  id: string;
  oemId: string;
  l1: ChannelL1;
  l2: ChannelL2;
  l3Name: string;
  validFrom?: Date | undefined;
  validTo?: Date | undefined;
  costPerLead?: number | undefined;
  budget?: number | undefined;
  active: boolean;
}

/** The part of a source that decides which channels it may submit to. */
export interface SourceChannelRules {
  id: string;
  defaultChannelId?: string | undefined;
  allowedChannelIds?: readonly string[] | undefined;
}

export const ChannelRejections = {
  no_channel: 400,
  unknown_channel: 422,
  inactive: 422,
  not_yet_valid: 422,
  expired: 422,
  not_allowed: 403,
} as const;
export type ChannelRejection = keyof typeof ChannelRejections;

export type ChannelDecision =
  | { ok: true; channel: ChannelRef }
  | { ok: false; rejection: ChannelRejection; detail: string };

/** The requested channel, else the source's default. */
export function resolveChannelId(
  requested: string | undefined,
  source: SourceChannelRules | undefined,
): string | undefined {
  return requested ?? source?.defaultChannelId;
}

/**
 * Whether a lead received at `at` may be attributed to `channel`. Attribution is immutable once the
 * lead is accepted, so a lead for an ended campaign is refused rather than silently credited to it:
 * the source must fix its mapping.
 */
export function checkChannel(
  channelId: string | undefined,
  channel: Channel | undefined,
  source: SourceChannelRules | undefined,
  at: Date,
): ChannelDecision {
  if (channelId === undefined) {
    return {
      ok: false,
      rejection: 'no_channel',
      detail: 'channelId is required: the caller has no default channel.',
    };
  }
  if (channel === undefined) {
    return { ok: false, rejection: 'unknown_channel', detail: `Channel "${channelId}" does not exist.` };
  }
  if (source !== undefined && source.defaultChannelId !== channel.id) {
    const allowed = source.allowedChannelIds;
    if (allowed !== undefined && !allowed.includes(channel.id)) {
      return {
        ok: false,
        rejection: 'not_allowed',
        detail: `Source "${source.id}" may not submit leads to channel "${channel.id}".`,
      };
    }
  }
  if (!channel.active) {
    return { ok: false, rejection: 'inactive', detail: `Channel "${channel.id}" is inactive.` };
  }
  if (channel.validFrom !== undefined && at.getTime() < channel.validFrom.getTime()) {
    return {
      ok: false,
      rejection: 'not_yet_valid',
      detail: `Channel "${channel.id}" is valid from ${channel.validFrom.toISOString()}.`,
    };
  }
  if (channel.validTo !== undefined && at.getTime() > channel.validTo.getTime()) {
    return {
      ok: false,
      rejection: 'expired',
      detail: `Channel "${channel.id}" (${channel.l3Name}) expired on ${channel.validTo.toISOString()}.`,
    };
  }
  return { ok: true, channel: { l1: channel.l1, l2: channel.l2, l3: channel.id } };
}

/** `validFrom` must not lie after `validTo`. */
export function validityProblem(validFrom: Date | undefined, validTo: Date | undefined): string | undefined {
  if (validFrom !== undefined && validTo !== undefined && validFrom.getTime() > validTo.getTime()) {
    return 'validFrom must not be after validTo';
  }
  return undefined;
}
