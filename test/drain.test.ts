import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Drain, type LiveSessions } from '../src/drain.js';
import { capturedLogger } from './support/log-capture.js';

describe('Drain', () => {
  beforeEach(() => vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') }));
  afterEach(() => vi.useRealTimers());

  function drain(initial: LiveSessions, drainMs = 60_000) {
    let live = initial;
    const closes: string[] = [];
    let admitting = true;
    const captured = capturedLogger();
    const subject = new Drain({
      stopAdmitting: () => (admitting = false),
      live: () => live,
      close: async (reason) => void closes.push(reason),
      drainMs,
      log: captured.log,
    });
    return { subject, closes, admitting: () => admitting, set: (next: LiveSessions) => (live = next), lines: captured.lines };
  }

  it('stops admitting at once and closes as soon as nothing is left', () => {
    const d = drain({ setupsInFlight: 1, calls: 2, participants: 3 });
    expect(d.subject.start()).toEqual({
      state: 'draining',
      startedAt: '2026-01-01T00:00:00.000Z',
      deadline: '2026-01-01T00:01:00.000Z',
      setupsInFlight: 1,
      calls: 2,
      participants: 3,
    });
    expect(d.admitting()).toBe(false);
    vi.advanceTimersByTime(10_000);
    expect(d.closes).toEqual([]);
    d.set({ setupsInFlight: 0, calls: 0, participants: 0 });
    vi.advanceTimersByTime(250);
    expect(d.closes).toEqual(['draining']);
    expect(d.lines().map((l) => l.msg)).toContain('drained: no call or participant left');
  });

  it('ends what is left when DRAIN_SECONDS has passed, once', () => {
    const d = drain({ setupsInFlight: 0, calls: 1, participants: 1 }, 5000);
    d.subject.start();
    vi.advanceTimersByTime(4750);
    expect(d.closes).toEqual([]);
    vi.advanceTimersByTime(250);
    expect(d.closes).toEqual(['draining']);
    vi.advanceTimersByTime(10_000);
    expect(d.closes).toEqual(['draining']);
    expect(d.lines().find((l) => l.msg === 'drain time is up: ending what is left')).toMatchObject({ calls: 1, participants: 1 });
  });

  it('a second start only reports the drain, with its first start and deadline', () => {
    const d = drain({ setupsInFlight: 0, calls: 1, participants: 1 });
    const first = d.subject.start();
    vi.advanceTimersByTime(3000);
    expect(d.subject.start()).toEqual(first);
  });

  it('stops watching when the gateway closes another way (a second SIGTERM)', () => {
    const d = drain({ setupsInFlight: 0, calls: 1, participants: 0 }, 1000);
    d.subject.start();
    d.subject.stop();
    vi.advanceTimersByTime(5000);
    expect(d.closes).toEqual([]);
  });
});
