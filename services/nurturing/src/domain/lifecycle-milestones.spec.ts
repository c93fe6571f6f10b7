import { describe, expect, it } from 'vitest';
import {
  bookAppointmentProblem,
  cancelAppointmentProblem,
  changeAppointmentProblem,
  isClosed,
  LOST_CONTACT_AFTER_ATTEMPTS,
  lostContactAfter,
  orderProblem,
  statusAfterFollowUp,
  testDriveProblem,
  visitProblem,
  wonProblem,
  type ActingPrincipal,
  type AppointmentView,
} from './lifecycle-rules.js';

const now = new Date('2025-03-03T02:00:00Z');
const later = '2025-03-05T02:00:00.000Z';
const earlier = '2025-03-02T02:00:00.000Z';
const owner = { dealerId: 'D1', agentId: 'A1' };
const agent: ActingPrincipal = {
  actor: { id: 'u-a1', role: 'dcc_agent' },
  dealerId: 'D1',
  agentId: 'A1',
  manager: false,
};
const colleague: ActingPrincipal = { ...agent, agentId: 'A2' };
const manager: ActingPrincipal = {
  actor: { id: 'u-m', role: 'dealer_manager' },
  dealerId: 'D1',
  manager: true,
};
const waiting: AppointmentView = { status: 'pending_re_follow_up', owner };
const appointment = {
  appointmentId: 'lead-L1-appointment-1',
  kind: 'visit' as const,
  scheduledAt: later,
  bookedAt: earlier,
};
const invited: AppointmentView = { status: 'invited', owner, appointment };
const arrived: AppointmentView = { status: 'arrived', owner };

describe('closed statuses', () => {
  it('are won and defeated', () => {
    expect(isClosed('won')).toBe(true);
    expect(isClosed('defeated')).toBe(true);
    expect(isClosed('ordered')).toBe(false);
    expect(isClosed('lost_contact')).toBe(false);
  });
});

describe('lost contact (L)', () => {
  it(`follows ${LOST_CONTACT_AFTER_ATTEMPTS} unreachable follow-ups in a row`, () => {
    let misses = 0;
    for (const outcome of ['no_answer', 'busy']) {
      const step = lostContactAfter('pending_re_follow_up', misses, outcome);
      expect(step.lostContact).toBe(false);
      misses = step.misses;
    }
    expect(lostContactAfter('pending_re_follow_up', misses, 'wrong_number')).toEqual({
      misses: 3,
      lostContact: true,
    });
  });
  it('starts counting again after the customer was reached', () => {
    expect(lostContactAfter('pending_re_follow_up', 2, 'connected')).toEqual({
      misses: 0,
      lostContact: false,
    });
  });
  it('never marks a customer who visited or ordered as lost', () => {
    expect(lostContactAfter('arrived', 5, 'no_answer').lostContact).toBe(false);
    expect(lostContactAfter('invited', 5, 'no_answer').lostContact).toBe(false);
  });
  it('moves waiting and lost leads to re-follow-up after a follow-up, and leaves milestones alone', () => {
    expect(statusAfterFollowUp('pending_first_follow_up')).toBe('pending_re_follow_up');
    expect(statusAfterFollowUp('lost_contact')).toBe('pending_re_follow_up');
    expect(statusAfterFollowUp('invited')).toBe('invited');
    expect(statusAfterFollowUp('ordered')).toBe('ordered');
  });
});

describe('appointments', () => {
  it('books one in the future for the owner or a manager', () => {
    expect(bookAppointmentProblem(waiting, { by: agent, scheduledAt: later }, now)).toBeUndefined();
    expect(bookAppointmentProblem(waiting, { by: manager, scheduledAt: later }, now)).toBeUndefined();
    expect(bookAppointmentProblem(waiting, { by: agent, scheduledAt: earlier }, now)).toMatch(/future/);
    expect(bookAppointmentProblem(waiting, { by: colleague, scheduledAt: later }, now)).toMatch(
      /someone else/,
    );
  });
  it('allows one open appointment at a time', () => {
    expect(bookAppointmentProblem(invited, { by: agent, scheduledAt: later }, now)).toMatch(/already open/);
  });
  it('changes and cancels only the open appointment', () => {
    const id = appointment.appointmentId;
    expect(
      changeAppointmentProblem(
        invited,
        { by: agent, appointmentId: id, scheduledAt: '2025-03-06T02:00:00Z' },
        now,
      ),
    ).toBeUndefined();
    expect(
      changeAppointmentProblem(invited, { by: agent, appointmentId: id, scheduledAt: later }, now),
    ).toMatch(/already at that time/);
    expect(
      changeAppointmentProblem(invited, { by: agent, appointmentId: 'x', scheduledAt: later }, now),
    ).toMatch(/not x/);
    expect(
      changeAppointmentProblem(waiting, { by: agent, appointmentId: id, scheduledAt: later }, now),
    ).toMatch(/no open appointment/);
    expect(cancelAppointmentProblem(invited, { by: agent, appointmentId: id })).toBeUndefined();
    expect(cancelAppointmentProblem(waiting, { by: agent, appointmentId: id })).toMatch(
      /no open appointment/,
    );
  });
  it('refuses everything on a closed lead', () => {
    expect(bookAppointmentProblem({ status: 'won', owner }, { by: agent, scheduledAt: later }, now)).toMatch(
      /won/,
    );
    expect(
      bookAppointmentProblem({ status: 'defeated', owner }, { by: agent, scheduledAt: later }, now),
    ).toMatch(/defeated/);
    expect(
      bookAppointmentProblem({ status: 'defeat_requested', owner }, { by: agent, scheduledAt: later }, now),
    ).toMatch(/defeat request/);
  });
});

describe('visit → test drive → order → won', () => {
  it('records a walk-in or an invited visit, not in the future', () => {
    expect(visitProblem(waiting, { by: agent, visitedAt: now.toISOString() }, now)).toBeUndefined();
    expect(
      visitProblem(
        invited,
        { by: agent, visitedAt: now.toISOString(), appointmentId: appointment.appointmentId },
        now,
      ),
    ).toBeUndefined();
    expect(
      visitProblem(invited, { by: agent, visitedAt: now.toISOString(), appointmentId: 'other' }, now),
    ).toMatch(/not other/);
    expect(visitProblem(waiting, { by: agent, visitedAt: later }, now)).toMatch(/future/);
  });
  it('needs the customer in the store for a test drive', () => {
    expect(testDriveProblem(invited, { by: agent, testDrivenAt: earlier }, now)).toMatch(/not arrived/);
    expect(testDriveProblem(arrived, { by: agent, testDrivenAt: earlier }, now)).toBeUndefined();
    expect(
      testDriveProblem({ status: 'ordered', owner }, { by: agent, testDrivenAt: earlier }, now),
    ).toBeUndefined();
  });
  it('takes one order, after a visit', () => {
    expect(orderProblem(waiting, { by: agent, orderedAt: earlier }, now)).toMatch(/not arrived/);
    expect(orderProblem(arrived, { by: agent, orderedAt: earlier }, now)).toBeUndefined();
    expect(
      orderProblem({ status: 'ordered', owner, orderId: 'O1' }, { by: agent, orderedAt: earlier }, now),
    ).toMatch(/already has order O1/);
    expect(orderProblem(arrived, { by: agent, orderedAt: later }, now)).toMatch(/future/);
  });
  it('closes a deal after an order or a visit', () => {
    expect(wonProblem({ status: 'ordered', owner }, { by: agent, wonAt: earlier }, now)).toBeUndefined();
    expect(wonProblem(arrived, { by: agent, wonAt: earlier }, now)).toBeUndefined();
    expect(wonProblem(invited, { by: agent, wonAt: earlier }, now)).toMatch(/visit or an order/);
    expect(wonProblem({ status: 'ordered', owner }, { by: colleague, wonAt: earlier }, now)).toMatch(
      /someone else/,
    );
  });
});
