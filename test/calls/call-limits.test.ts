/**
 * The limits an answered call runs under: silence without hold, silence on hold, and the
 * longest call, each ending the call with a BYE and its Q.850 cause. The clock is virtual;
 * the call, its registry and the store are the real ones, its SIP side a recording stand-in.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Call } from '../../src/calls/call.js';
import { Q850 } from '../../src/calls/call-end.js';
import { type CallLimits, type LimitClock, type SupervisedMedia, superviseCall } from '../../src/calls/call-limits.js';
import { CallRegistry } from '../../src/calls/call-registry.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RecordingSignaling } from '../support/calls/recording-parts.js';
import { capturedLogger } from '../support/log-capture.js';

class VirtualClock implements LimitClock {
  time = 1_000_000;
  private timers = new Map<number, { fn: () => void; every: number; next: number }>();
  private ids = 0;

  now = () => this.time;

  setInterval(fn: () => void, ms: number): { unref(): void } {
    const id = ++this.ids;
    this.timers.set(id, { fn, every: ms, next: this.time + ms });
    return Object.assign({ unref: () => undefined }, { id });
  }

  clearInterval(handle: unknown): void {
    this.timers.delete((handle as { id: number }).id);
  }

  get running(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.timers.values()].filter((t) => t.next <= until).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.time = due.next;
      due.next += due.every;
      due.fn();
    }
    this.time = until;
  }
}

class PhoneStream implements SupervisedMedia {
  last: number | undefined;
  onHold = false;
  lastReceivedAt(): number | undefined {
    return this.last;
  }
}

const LIMITS: CallLimits = { rtpTimeoutMs: 30_000, rtpHoldTimeoutMs: 0, maxCallMs: 0 };

let clock: VirtualClock;
let signaling: RecordingSignaling;
let call: Call<RecordingSignaling>;
let phone: PhoneStream;

beforeEach(() => {
  clock = new VirtualClock();
  signaling = new RecordingSignaling([]);
  const registry = new CallRegistry<RecordingSignaling>();
  call = registry.open({ callId: 'c1', meetingId: 'm1', signaling, store: new MemoryStore(), log: capturedLogger('info').log });
  call.answering();
  phone = new PhoneStream();
});

/** The phone sends a packet every 20 ms for `ms`. */
function talk(ms: number): void {
  for (let t = 0; t < ms; t += 20) {
    clock.advance(20);
    phone.last = clock.time;
  }
}

describe('RTP timeout', () => {
  it('keeps a call whose phone keeps sending, however long', () => {
    superviseCall(call, phone, LIMITS, clock);
    talk(120_000);
    expect(call.isOpen).toBe(true);
    expect(signaling.byes).toEqual([]);
  });

  it('ends a call whose phone went silent with a BYE carrying Q.850 cause 102, once the timeout has passed and not before', () => {
    superviseCall(call, phone, LIMITS, clock);
    talk(10_000);
    clock.advance(29_000);
    expect(call.isOpen).toBe(true);
    clock.advance(2_000);
    expect(call.isOpen).toBe(false);
    expect(signaling.byes).toEqual([{ by: 'gateway', reason: 'no RTP or RTCP from the phone for 30 s', cause: Q850.recoveryOnTimerExpiry }]);
    expect(clock.running).toBe(0);
  });

  it('counts a phone that never sent anything from the answer', () => {
    superviseCall(call, phone, LIMITS, clock);
    clock.advance(31_000);
    expect(signaling.byes.map((end) => end.cause)).toEqual([Q850.recoveryOnTimerExpiry]);
  });

  it('keeps a silent call on hold when RTP_HOLD_TIMEOUT_SECONDS is 0, and gives a phone back from hold the whole timeout', () => {
    superviseCall(call, phone, LIMITS, clock);
    talk(1_000);
    phone.onHold = true;
    clock.advance(3_600_000);
    expect(call.isOpen).toBe(true);
    phone.onHold = false;
    clock.advance(29_000);
    expect(call.isOpen).toBe(true);
    clock.advance(2_000);
    expect(call.isOpen).toBe(false);
  });

  it('ends a call silent on hold after RTP_HOLD_TIMEOUT_SECONDS when set, saying it was on hold', () => {
    phone.onHold = true;
    superviseCall(call, phone, { ...LIMITS, rtpHoldTimeoutMs: 120_000 }, clock);
    clock.advance(119_000);
    expect(call.isOpen).toBe(true);
    clock.advance(2_000);
    expect(signaling.byes).toEqual([{ by: 'gateway', reason: 'no RTP or RTCP from the phone for 120 s on hold', cause: Q850.recoveryOnTimerExpiry }]);
  });

  it('never ends a silent call when RTP_TIMEOUT_SECONDS is 0', () => {
    superviseCall(call, phone, { ...LIMITS, rtpTimeoutMs: 0 }, clock);
    expect(clock.running).toBe(0);
    clock.advance(3_600_000);
    expect(call.isOpen).toBe(true);
  });
});

describe('MAX_CALL_SECONDS', () => {
  it('ends a talking call when its time is up, with Q.850 cause 16', () => {
    superviseCall(call, phone, { ...LIMITS, maxCallMs: 60_000 }, clock);
    talk(59_000);
    expect(call.isOpen).toBe(true);
    talk(2_000);
    expect(signaling.byes).toEqual([{ by: 'gateway', reason: 'maximum call duration of 60 s reached', cause: Q850.normalClearing }]);
  });
});

it('stops watching when the call ends another way', async () => {
  superviseCall(call, phone, LIMITS, clock);
  expect(clock.running).toBe(1);
  await call.close({ by: 'caller', reason: 'BYE' });
  expect(clock.running).toBe(0);
  clock.advance(60_000);
  expect(signaling.byes).toEqual([]);
});
