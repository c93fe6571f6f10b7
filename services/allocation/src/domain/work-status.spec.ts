import { describe, expect, it } from 'vitest';
import { WorkStatuses } from '../repositories/assignment.schema.js';
import { isWorkSignal, nextWorkState, WorkSignalTypes } from './work-status.js';

describe('nextWorkState', () => {
  it('ends "first follow-up pending" with any follow-up, and keeps later groups', () => {
    expect(
      nextWorkState('pending_first_follow_up', { type: 'lead.followed_up', outcome: 'connected' }),
    ).toMatchObject({
      kind: 'move',
      workStatus: 'pending_re_follow_up',
      followedUp: true,
    });
    expect(
      nextWorkState('pending_first_follow_up', { type: 'lead.followed_up', outcome: 'no_answer' }),
    ).toMatchObject({
      workStatus: 'pending_re_follow_up',
    });
    expect(nextWorkState('invited', { type: 'lead.followed_up', outcome: 'connected' })).toMatchObject({
      workStatus: 'invited',
    });
    expect(nextWorkState('arrived', { type: 'lead.followed_up', outcome: 'invited' })).toMatchObject({
      workStatus: 'arrived',
    });
  });

  it('makes a lead invited by an appointment or an invited call, unless it already arrived', () => {
    expect(
      nextWorkState('pending_first_follow_up', { type: 'lead.followed_up', outcome: 'invited' }),
    ).toMatchObject({
      workStatus: 'invited',
    });
    for (const type of ['lead.appointment_booked', 'lead.appointment_changed'] as const) {
      expect(nextWorkState('pending_re_follow_up', { type })).toMatchObject({
        kind: 'move',
        workStatus: 'invited',
      });
      expect(nextWorkState('arrived', { type })).toEqual({ kind: 'none', reason: 'already arrived' });
    }
  });

  it('sends a cancelled or missed appointment and a rejected defeat back to re-follow-up', () => {
    for (const type of [
      'lead.appointment_cancelled',
      'lead.appointment_no_show',
      'lead.defeat_rejected',
    ] as const) {
      expect(nextWorkState('invited', { type })).toMatchObject({
        kind: 'move',
        workStatus: 'pending_re_follow_up',
      });
      expect(nextWorkState('arrived', { type }).kind).toBe('none');
    }
    expect(nextWorkState('invited', { type: 'lead.appointment_no_show' })).toMatchObject({
      reason: 'no-show',
    });
  });

  it('makes a visit arrived from every group', () => {
    for (const status of WorkStatuses) {
      expect(nextWorkState(status, { type: 'lead.visited' })).toMatchObject({
        kind: 'move',
        workStatus: 'arrived',
      });
    }
  });

  it('closes on a deal, an approved defeat or an archive', () => {
    expect(nextWorkState('arrived', { type: 'lead.won' })).toEqual({ kind: 'close', reason: 'won' });
    expect(nextWorkState('invited', { type: 'lead.defeat_approved' })).toEqual({
      kind: 'close',
      reason: 'defeated',
    });
    expect(nextWorkState('pending_first_follow_up', { type: 'lead.archived' })).toEqual({
      kind: 'close',
      reason: 'archived',
    });
  });

  it('recognises exactly its signals', () => {
    for (const type of WorkSignalTypes) expect(isWorkSignal(type)).toBe(true);
    expect(isWorkSignal('lead.sla_reminder')).toBe(false);
    expect(isWorkSignal('lead.scored')).toBe(false);
  });
});
