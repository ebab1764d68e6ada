import { describe, expect, it } from 'vitest';
import { mixerClockLoad } from '../../src/media/media-load.js';
import { MixerClock } from '../../src/media/mixer/mixer-clock.js';
import { VirtualTime } from '../support/virtual-time.js';

describe('mixerClockLoad', () => {
  it('is 0 with no mixer ticking', () => {
    expect(mixerClockLoad(new MixerClock(new VirtualTime()))()).toBe(0);
  });

  it.each([
    [0, 0],
    [5, 0.25],
    [15, 0.75],
    [40, 1],
  ])('reads ticks running %d ms late as load %d', (lateMs, load) => {
    const time = new VirtualTime(() => lateMs);
    const clock = new MixerClock(time);
    clock.join({ tick: () => undefined });
    time.advance(2000);
    expect(mixerClockLoad(clock, time.now)()).toBeCloseTo(load, 2);
  });

  it('reads the clock at most every 250 ms', () => {
    const time = new VirtualTime(() => 40);
    const clock = new MixerClock(time);
    clock.join({ tick: () => undefined });
    let now = 0;
    const load = mixerClockLoad(clock, () => now);
    expect(load()).toBe(0); // no tick has run yet
    time.advance(2000);
    now = 249;
    expect(load()).toBe(0);
    now = 250;
    expect(load()).toBe(1);
  });
});
