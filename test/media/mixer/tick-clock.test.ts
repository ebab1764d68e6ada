import { describe, expect, it } from 'vitest';
import { TickClock } from '../../../src/media/mixer/tick-clock.js';
import { VirtualTime } from '../../support/virtual-time.js';

describe('TickClock', () => {
  it('does not drift over an hour of virtual time with timers firing 0-7 ms late', () => {
    let seed = 7;
    const time = new VirtualTime(() => ((seed = (seed * 48271) % 2147483647) % 8));
    const clock = new TickClock(() => undefined, 20, time);
    clock.start();
    time.advance(3_600_000);
    expect(Math.abs(clock.tickCount - 3_600_000 / 20)).toBeLessThanOrEqual(1);
    expect(clock.recentLateness().reduce((a, b) => Math.max(a, b), 0)).toBeLessThan(20);
  });

  it('runs the ticks an event-loop stall made it miss at once, in order', () => {
    let timers = 0;
    const time = new VirtualTime(() => (++timers === 3 ? 50 : 0)); // the third timer fires 50 ms late
    const seen: number[] = [];
    const clock = new TickClock((tick) => seen.push(tick), 20, time);
    clock.start();
    time.advance(110);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(clock.recentLateness()).toEqual([0, 0, 50, 30, 10]);
  });

  it('remembers the lateness of only its most recent ticks', () => {
    let timers = 0;
    const time = new VirtualTime(() => (++timers === 3 ? 50 : 0));
    const clock = new TickClock(() => undefined, 20, time, 3);
    clock.start();
    time.advance(110);
    expect(clock.recentLateness()).toEqual([50, 30, 10]);
  });

  it('skips ahead instead of bursting when it fell far behind', () => {
    const time = new VirtualTime(() => 1000);
    let ran = 0;
    const clock = new TickClock(() => ran++, 20, time);
    clock.start();
    time.advance(1030);
    expect(ran).toBe(1);
    expect(clock.tickCount).toBe(51);
  });

  it('ticks again from a new start after a stop', () => {
    const time = new VirtualTime();
    const clock = new TickClock(() => undefined, 20, time);
    clock.start();
    time.advance(100);
    clock.stop();
    time.advance(1000);
    clock.start();
    time.advance(60);
    expect(clock.tickCount).toBe(3);
  });

  it('stops ticking when stopped', () => {
    const time = new VirtualTime();
    const clock = new TickClock(() => undefined, 20, time);
    clock.start();
    time.advance(100);
    clock.stop();
    time.advance(100);
    expect(clock.tickCount).toBe(5);
  });
});
