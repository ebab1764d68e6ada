import { describe, expect, it } from 'vitest';
import { mediaLoad } from '../../src/media/media-load.js';
import { MixerClock } from '../../src/media/mixer/mixer-clock.js';
import { VirtualTime } from '../support/virtual-time.js';

/** Lets a read the load function started land. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('mediaLoad', () => {
  it('is 0 with no mixer ticking', async () => {
    const load = mediaLoad(new MixerClock(new VirtualTime()));
    load();
    await settled();
    expect(load()).toBe(0);
  });

  it.each([
    [0, 0],
    [5, 0.25],
    [15, 0.75],
    [40, 1],
  ])('reads ticks running %d ms late as load %d', async (lateMs, expected) => {
    const time = new VirtualTime(() => lateMs);
    const clock = new MixerClock(time);
    clock.join({ tick: () => undefined });
    time.advance(2000);
    const load = mediaLoad(clock, time.now);
    expect(load()).toBe(0); // nothing read yet: admission never waits for the media plane
    await settled();
    expect(load()).toBeCloseTo(expected, 2);
  });

  it('reads the clock at most every 250 ms', async () => {
    const time = new VirtualTime(() => 40);
    const clock = new MixerClock(time);
    clock.join({ tick: () => undefined });
    let now = 0;
    const load = mediaLoad(clock, () => now);
    load();
    await settled();
    expect(load()).toBe(0); // no tick had run at the first read
    time.advance(2000);
    now = 249;
    load();
    await settled();
    expect(load()).toBe(0);
    now = 250;
    load();
    await settled();
    expect(load()).toBe(1);
  });

  it('keeps the last load while a read is answered late, and asks again only once it is', async () => {
    let asked = 0;
    let answer: (stats: { mixers: number; ticks: number; latenessP50Ms: number; latenessP99Ms: number; latenessMaxMs: number }) => void = () => undefined;
    let now = 0;
    const load = mediaLoad({ stats: () => (asked++, new Promise((resolve) => (answer = resolve))) }, () => now);
    load();
    now = 1000;
    load();
    expect(asked).toBe(1);
    answer({ mixers: 1, ticks: 500, latenessP50Ms: 10, latenessP99Ms: 30, latenessMaxMs: 40 });
    await settled();
    expect(load()).toBe(0.5);
    expect(asked).toBe(2);
  });
});
