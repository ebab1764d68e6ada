import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Drain, type LiveSessions, RELAY_END_MS } from '../src/drain.js';
import { capturedLogger } from './support/log-capture.js';

describe('Drain', async () => {
  beforeEach(() => vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  function drain(initial: LiveSessions, drainMs = 60_000) {
    let live = initial;
    let relayed: () => Promise<number> = async () => 0;
    const closes: string[] = [];
    let admitting = true;
    let relaysEnded = 0;
    const captured = capturedLogger();
    const subject = new Drain({
      stopAdmitting: () => (admitting = false),
      live: () => live,
      relayedCalls: () => relayed(),
      endRelays: () => void relaysEnded++,
      close: async (reason) => void closes.push(reason),
      drainMs,
      log: captured.log,
    });
    return {
      subject,
      closes,
      admitting: () => admitting,
      set: (next: LiveSessions) => (live = next),
      relay: (count: () => Promise<number>) => (relayed = count),
      relaysEnded: () => relaysEnded,
      lines: captured.lines,
    };
  }

  it('stops admitting at once and closes as soon as nothing is left', async () => {
    const d = drain({ setupsInFlight: 1, calls: 2, participants: 3 });
    expect(d.subject.start()).toEqual({
      state: 'draining',
      startedAt: '2026-01-01T00:00:00.000Z',
      deadline: '2026-01-01T00:01:00.000Z',
      setupsInFlight: 1,
      calls: 2,
      participants: 3,
      relayedCalls: 0,
    });
    expect(d.admitting()).toBe(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(d.closes).toEqual([]);
    d.set({ setupsInFlight: 0, calls: 0, participants: 0 });
    await vi.advanceTimersByTimeAsync(250);
    expect(d.closes).toEqual(['draining']);
    expect(d.lines().map((l) => l.msg)).toContain('drained: no call or participant left');
  });

  it('ends what is left when DRAIN_SECONDS has passed, once', async () => {
    const d = drain({ setupsInFlight: 0, calls: 1, participants: 1 }, 5000);
    d.subject.start();
    await vi.advanceTimersByTimeAsync(4750);
    expect(d.closes).toEqual([]);
    await vi.advanceTimersByTimeAsync(250);
    expect(d.closes).toEqual(['draining']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(d.closes).toEqual(['draining']);
    expect(d.lines().find((l) => l.msg === 'drain time is up: ending what is left')).toMatchObject({ calls: 1, participants: 1 });
  });

  it('a second start only reports the drain, with its first start and deadline', async () => {
    const d = drain({ setupsInFlight: 0, calls: 1, participants: 1 });
    const first = d.subject.start();
    await vi.advanceTimersByTimeAsync(3000);
    expect(d.subject.start()).toEqual(first);
  });

  it('stops watching when the gateway closes another way (a second SIGTERM)', async () => {
    const d = drain({ setupsInFlight: 0, calls: 1, participants: 0 }, 1000);
    d.subject.start();
    d.subject.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(d.closes).toEqual([]);
  });

  it('waits for the calls it relays to other nodes, then closes once they ended there', async () => {
    const d = drain({ setupsInFlight: 0, calls: 0, participants: 0 });
    let relayed = 1;
    d.relay(async () => relayed);
    d.subject.start();
    await vi.advanceTimersByTimeAsync(5000);
    expect(d.closes).toEqual([]);
    expect(d.subject.start().relayedCalls).toBe(1);
    relayed = 0;
    await vi.advanceTimersByTimeAsync(250);
    expect(d.closes).toEqual(['draining']);
  });

  it('closes nothing before the relayed calls were counted once', async () => {
    const d = drain({ setupsInFlight: 0, calls: 0, participants: 0 });
    let answer: (count: number) => void = () => undefined;
    d.relay(() => new Promise((resolve) => (answer = resolve)));
    d.subject.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(d.closes).toEqual([]);
    answer(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(d.closes).toEqual(['draining']);
  });

  it('a store that does not answer the count holds the drain no longer than DRAIN_SECONDS', async () => {
    const d = drain({ setupsInFlight: 0, calls: 0, participants: 0 }, 5000);
    d.relay(() => new Promise(() => undefined));
    d.subject.start();
    await vi.advanceTimersByTimeAsync(4750);
    expect(d.closes).toEqual([]);
    await vi.advanceTimersByTimeAsync(250);
    expect(d.closes).toEqual(['draining']);
  });

  it('a failing count is said once and the last count stands', async () => {
    const d = drain({ setupsInFlight: 0, calls: 0, participants: 0 }, 5000);
    let fail = false;
    d.relay(async () => {
      if (fail) throw new Error('store unavailable');
      return 1;
    });
    d.subject.start();
    await vi.advanceTimersByTimeAsync(250);
    fail = true;
    await vi.advanceTimersByTimeAsync(2000);
    expect(d.closes).toEqual([]);
    expect(d.lines().filter((l) => l.msg === 'counting the calls this node relays failed')).toHaveLength(1);
    // The last count (1) stands: time up, the owners are asked and given their time.
    await vi.advanceTimersByTimeAsync(2750 + RELAY_END_MS);
    expect(d.relaysEnded()).toBe(1);
    expect(d.closes).toEqual(['draining']);
  });

  it('when time is up with relayed calls left, asks their owners to end them once and closes as soon as they ended', async () => {
    const d = drain({ setupsInFlight: 0, calls: 0, participants: 0 }, 5000);
    let relayed = 2;
    d.relay(async () => relayed);
    d.subject.start();
    await vi.advanceTimersByTimeAsync(4750);
    expect(d.relaysEnded()).toBe(0);
    expect(d.subject.endingRelays).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(d.relaysEnded()).toBe(1);
    expect(d.subject.endingRelays).toBe(true);
    expect(d.closes).toEqual([]);
    relayed = 0;
    await vi.advanceTimersByTimeAsync(250);
    expect(d.closes).toEqual(['draining']);
    expect(d.relaysEnded()).toBe(1);
  });

  it('closes anyway when the owners have not ended the relayed calls within RELAY_END_MS', async () => {
    const d = drain({ setupsInFlight: 0, calls: 0, participants: 0 }, 5000);
    d.relay(async () => 1);
    d.subject.start();
    await vi.advanceTimersByTimeAsync(5000);
    expect(d.relaysEnded()).toBe(1);
    await vi.advanceTimersByTimeAsync(RELAY_END_MS - 250);
    expect(d.closes).toEqual([]);
    await vi.advanceTimersByTimeAsync(250);
    expect(d.closes).toEqual(['draining']);
    expect(d.lines().find((l) => l.msg === 'drain time is up: ending what is left')).toMatchObject({ relayedCalls: 1 });
  });
});
