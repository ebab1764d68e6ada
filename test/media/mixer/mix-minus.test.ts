import { describe, expect, it } from 'vitest';
import { MixMinus, softClip } from '../../../src/media/mixer/mix-minus.js';
import { dominantFrequencyHz, rmsDbfs } from '../../support/audio/tone.js';

const RATE = 8000;
const FRAME = 160;

const tone = (hz: number, amplitude: number, frame = 0) =>
  Int16Array.from({ length: FRAME }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * (frame * FRAME + i)) / RATE)));

/** Mixes `frames` ticks of the talkers' tones and records what each listener hears. */
function run(talkers: Record<string, { hz: number; amplitude: number }>, listeners: Array<string | undefined>, frames = 50) {
  const mixer = new MixMinus(FRAME);
  const heard = listeners.map(() => new Int16Array(FRAME * frames));
  for (let f = 0; f < frames; f++) {
    mixer.mix(new Map(Object.entries(talkers).map(([id, t]) => [id, tone(t.hz, t.amplitude, f)])));
    listeners.forEach((own, l) => heard[l]!.set(mixer.outputFor(own), f * FRAME));
  }
  return heard;
}

/** Level of one frequency in the signal, by correlation (dBFS of the matching sine). */
function levelAt(samples: Int16Array, hz: number): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < samples.length; i++) {
    re += samples[i]! * Math.cos((2 * Math.PI * hz * i) / RATE);
    im += samples[i]! * Math.sin((2 * Math.PI * hz * i) / RATE);
  }
  const amplitude = (2 * Math.hypot(re, im)) / samples.length;
  return 20 * Math.log10(amplitude / 32768 + 1e-12);
}

describe('MixMinus', () => {
  it('gives each talker everyone else and not themselves', () => {
    const talkers = { a: { hz: 400, amplitude: 6000 }, b: { hz: 700, amplitude: 6000 }, c: { hz: 1100, amplitude: 6000 } };
    const [heardByA, heardByB, heardByC, heardByPhone] = run(talkers, ['a', 'b', 'c', undefined]);
    for (const [heard, own, others] of [
      [heardByA!, 400, [700, 1100]],
      [heardByB!, 700, [400, 1100]],
      [heardByC!, 1100, [400, 700]],
    ] as const) {
      expect(levelAt(heard, own)).toBeLessThan(-80);
      for (const hz of others) expect(Math.abs(levelAt(heard, hz) - levelAt(tone(hz, 6000, 0), hz))).toBeLessThan(0.5);
    }
    for (const hz of [400, 700, 1100]) expect(levelAt(heardByPhone!, hz)).toBeGreaterThan(-16);
  });

  it('passes a lone quiet talker through unchanged', () => {
    const [heard] = run({ a: { hz: 500, amplitude: 8000 } }, ['b'], 1);
    expect([...heard!]).toEqual([...tone(500, 8000)]);
  });

  it('soft-clips a sum beyond full scale: no wrap-around, never past ±32767, same frequency', () => {
    const [heard] = run({ a: { hz: 300, amplitude: 30000 }, b: { hz: 300, amplitude: 30000 } }, [undefined]);
    expect(Math.max(...heard!)).toBeLessThanOrEqual(32767);
    expect(Math.min(...heard!)).toBeGreaterThanOrEqual(-32767);
    expect(Math.abs(dominantFrequencyHz(heard!, RATE) - 300)).toBeLessThan(2);
    expect(rmsDbfs(heard!, RATE)).toBeGreaterThan(-4);
  });

  it('softClip is continuous and monotonic, identity up to the knee', () => {
    expect(softClip(24576)).toBe(24576);
    expect(softClip(-1000)).toBe(-1000);
    let previous = softClip(-200_000);
    for (let x = -199_000; x <= 200_000; x += 1000) {
      const y = softClip(x);
      expect(y).toBeGreaterThanOrEqual(previous);
      previous = y;
    }
    expect(softClip(1_000_000)).toBeLessThanOrEqual(32767);
  });

  it('gives silence when nobody talks', () => {
    const [heard] = run({}, ['a'], 2);
    expect(heard!.every((s) => s === 0)).toBe(true);
  });
});
