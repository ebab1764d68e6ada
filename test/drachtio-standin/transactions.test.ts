/** Unit tests of the transaction state machines on a manual clock: retransmission schedules, absorption, timeouts. */
import { describe, expect, it } from 'vitest';
import { RFC3261_TIMERS, TimerSet } from '../../src/drachtio-standin/timers.js';
import {
  type ClientHooks,
  InviteClientTransaction,
  InviteServerTransaction,
  NonInviteClientTransaction,
  NonInviteServerTransaction,
  type TransactionContext,
} from '../../src/drachtio-standin/transactions.js';
import { ManualScheduler } from '../support/sip/manual-scheduler.js';

function harness(reliable = false) {
  const clock = new ManualScheduler();
  const timers = new TimerSet(clock, RFC3261_TIMERS);
  const sent: Array<{ at: number; data: string }> = [];
  const ctx: TransactionContext = { timers, reliable, send: (data) => sent.push({ at: clock.now, data: data.toString() }) };
  const log: string[] = [];
  return { clock, timers, sent, ctx, log };
}

const data = (text: string) => Buffer.from(text);
const FULL_SCHEDULE = [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500];

describe('INVITE server transaction', () => {
  it('retransmits a 2xx at T1 doubling up to T2 until 64*T1, then reports the ACK timeout (UDP)', () => {
    const { clock, timers, sent, ctx, log } = harness();
    const txn = new InviteServerTransaction(ctx, { onTerminated: () => log.push('terminated'), onAckTimeout: () => log.push('ack-timeout') });
    txn.respond(100, data('100'));
    txn.respond(200, data('200'));
    clock.advanceTo(32_000);
    expect(sent.filter((s) => s.data === '200').map((s) => s.at)).toEqual(FULL_SCHEDULE);
    expect(log).toEqual(['ack-timeout']);
    txn.terminate();
    expect(timers.pending).toBe(0);
  });

  it('over TCP sends a 2xx once and still reports the ACK timeout at 64*T1, as drachtio-server does', () => {
    const { clock, sent, ctx, log } = harness(true);
    const txn = new InviteServerTransaction(ctx, { onTerminated: () => log.push('terminated'), onAckTimeout: () => log.push('ack-timeout') });
    txn.respond(200, data('200'));
    clock.advanceTo(31_999);
    expect(log).toEqual([]);
    clock.advanceTo(32_000);
    expect(sent.map((s) => s.at)).toEqual([0]);
    expect(log).toEqual(['ack-timeout']);
  });

  it('stops retransmitting the 2xx on its ACK, keeps answering INVITE retransmissions until timer L', () => {
    const { clock, sent, ctx, log } = harness();
    const txn = new InviteServerTransaction(ctx, { onTerminated: () => log.push('terminated'), onAckTimeout: () => log.push('ack-timeout') });
    txn.respond(200, data('200'));
    clock.advanceTo(1600);
    txn.on2xxAck();
    clock.advanceTo(10_000);
    txn.onRequestRetransmission();
    expect(sent.map((s) => s.at)).toEqual([0, 500, 1500, 10_000]);
    clock.advanceTo(1600 + 32_000);
    expect(log).toEqual(['terminated']);
  });

  it('re-sends the latest provisional for a retransmitted INVITE, not earlier ones', () => {
    const { sent, ctx } = harness();
    const txn = new InviteServerTransaction(ctx, { onTerminated: () => undefined, onAckTimeout: () => undefined });
    txn.respond(100, data('100'));
    txn.onRequestRetransmission();
    txn.respond(180, data('180'));
    txn.onRequestRetransmission();
    expect(sent.map((s) => s.data)).toEqual(['100', '100', '180', '180']);
  });

  it('retransmits a non-2xx final until its ACK (timer G), absorbs stray ACKs for T4 (timer I)', () => {
    const { clock, sent, ctx, log } = harness();
    const txn = new InviteServerTransaction(ctx, { onTerminated: () => log.push('terminated'), onAckTimeout: () => log.push('ack-timeout') });
    txn.respond(401, data('401'));
    clock.advanceTo(2000);
    txn.onNon2xxAck();
    txn.onRequestRetransmission();
    clock.advanceTo(2000 + 4999);
    expect(log).toEqual([]);
    clock.advanceTo(2000 + 5000);
    expect(sent.map((s) => s.at)).toEqual([0, 500, 1500]);
    expect(log).toEqual(['terminated']);
  });

  it('gives up on a non-2xx final never ACKed at 64*T1 (timer H)', () => {
    const { clock, sent, ctx, log } = harness();
    const txn = new InviteServerTransaction(ctx, { onTerminated: () => log.push('terminated'), onAckTimeout: () => log.push('ack-timeout') });
    txn.respond(487, data('487'));
    clock.advanceTo(40_000);
    expect(sent.map((s) => s.at)).toEqual(FULL_SCHEDULE);
    expect(log).toEqual(['terminated']);
  });
});

describe('non-INVITE server transaction', () => {
  it('absorbs retransmissions by re-sending the final until timer J (64*T1 over UDP)', () => {
    const { clock, sent, ctx, log } = harness();
    const txn = new NonInviteServerTransaction(ctx, { onTerminated: () => log.push('terminated') });
    txn.onRequestRetransmission();
    txn.respond(200, data('200'));
    clock.advanceTo(31_999);
    txn.onRequestRetransmission();
    clock.advanceTo(32_000);
    expect(sent.map((s) => s.at)).toEqual([0, 31_999]);
    expect(log).toEqual(['terminated']);
  });
  it('sends an app\'s 408 to a non-INVITE and re-sends it to retransmissions, as drachtio-server does', () => {
    const { clock, sent, ctx, log } = harness();
    const txn = new NonInviteServerTransaction(ctx, { onTerminated: () => log.push('terminated') });
    txn.respond(408, data('408'));
    clock.advanceTo(1000);
    txn.onRequestRetransmission();
    clock.advanceTo(32_000);
    expect(sent).toEqual([
      { at: 0, data: '408' },
      { at: 1000, data: '408' },
    ]);
    expect(log).toEqual(['terminated']);
  });
});

/** Client hooks that write what happened into `log`: "200", "200 again", "timeout", "terminated". */
const clientHooks = (log: string[]): ClientHooks => ({
  onResponse: (status, again) => log.push(`${status}${again ? ' again' : ''}`),
  onTimeout: () => log.push('timeout'),
  onTerminated: () => log.push('terminated'),
});

describe('client transactions', () => {
  it('non-INVITE: timer E doubles to T2 and keeps at T2, timer F gives up at 64*T1', () => {
    const { clock, sent, ctx, log } = harness();
    const txn = new NonInviteClientTransaction(ctx, data('BYE'), clientHooks(log));
    txn.start();
    clock.advanceTo(32_000);
    expect(sent.map((s) => s.at)).toEqual(FULL_SCHEDULE);
    expect(log).toEqual(['timeout', 'terminated']);
  });

  it('non-INVITE: a final stops retransmission; a retransmitted final is flagged; timer K ends it', () => {
    const { clock, sent, ctx, log } = harness();
    const txn = new NonInviteClientTransaction(ctx, data('BYE'), clientHooks(log));
    txn.start();
    clock.advanceTo(600);
    txn.onResponse(200);
    txn.onResponse(200);
    clock.advanceTo(600 + 5000);
    expect(sent.map((s) => s.at)).toEqual([0, 500]);
    expect(log).toEqual(['200', '200 again', 'terminated']);
  });

  it('INVITE: ACKs a non-2xx final itself and re-sends that ACK for retransmitted finals', () => {
    const { clock, sent, ctx, log } = harness();
    const txn = new InviteClientTransaction(ctx, data('INVITE'), clientHooks(log));
    txn.start();
    clock.advanceTo(500);
    txn.onResponse(100, () => data('never'));
    clock.advanceTo(5000);
    txn.onResponse(486, () => data('ACK'));
    txn.onResponse(486, () => data('ACK'));
    expect(sent.map((s) => s.data)).toEqual(['INVITE', 'INVITE', 'ACK', 'ACK']);
    expect(log).toEqual(['100', '486']);
  });

  it('INVITE: reports 2xx retransmissions (so the ACK can be re-sent) until timer M', () => {
    const { clock, ctx, log } = harness();
    const txn = new InviteClientTransaction(ctx, data('INVITE'), clientHooks(log));
    txn.start();
    txn.onResponse(200, () => data('never'));
    txn.onResponse(200, () => data('never'));
    clock.advanceTo(32_000);
    expect(log).toEqual(['200', '200 again', 'terminated']);
  });
});
