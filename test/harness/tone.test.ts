import { describe, expect, it } from 'vitest';
import { dominantFrequencyHz, isSilent, rmsDbfs, sineTone } from '../support/audio/tone.js';

describe('dominantFrequencyHz', () => {
  const cases = [600, 1000, 440].flatMap((hz) => [8_000, 16_000, 48_000].map((sampleRate) => [hz, sampleRate] as const));

  it.each(cases)('finds %d Hz at %d Hz sampling within 2 Hz', (hz, sampleRate) => {
    const tone = sineTone({ hz, sampleRate, seconds: 1 });
    expect(Math.abs(dominantFrequencyHz(tone, sampleRate) - hz)).toBeLessThan(2);
  });

  it('is accurate on a 100 ms segment with noise, from Float32 samples', () => {
    const sampleRate = 8_000;
    const tone = sineTone({ hz: 600, sampleRate, seconds: 0.1, amplitude: 0.3 });
    let seed = 1;
    const noise = () => ((seed = (seed * 16_807) % 2_147_483_647) / 2_147_483_647 - 0.5) * 0.1;
    const samples = Float32Array.from(tone, (s) => s / 32_768 + noise());
    expect(Math.abs(dominantFrequencyHz(samples, sampleRate) - 600)).toBeLessThan(2);
  });

  it('measures only the requested segment', () => {
    const sampleRate = 16_000;
    const first = sineTone({ hz: 440, sampleRate, seconds: 0.5 });
    const second = sineTone({ hz: 1000, sampleRate, seconds: 0.5 });
    const both = new Int16Array([...first, ...second]);
    expect(Math.abs(dominantFrequencyHz(both, sampleRate, { toSeconds: 0.5 }) - 440)).toBeLessThan(2);
    expect(Math.abs(dominantFrequencyHz(both, sampleRate, { fromSeconds: 0.5 }) - 1000)).toBeLessThan(2);
  });

  it('refuses segments it cannot measure', () => {
    expect(() => dominantFrequencyHz(new Int16Array(8_000), 8_000)).toThrow('no signal');
    expect(() => dominantFrequencyHz(sineTone({ hz: 600, sampleRate: 8_000, seconds: 1 }), 8_000, { fromSeconds: 2 })).toThrow('too short');
  });
});

describe('rmsDbfs and isSilent', () => {
  it('measures a sine at its RMS level (full scale: −3 dBFS)', () => {
    expect(rmsDbfs(sineTone({ hz: 1000, sampleRate: 8_000, seconds: 1, amplitude: 1 }), 8_000)).toBeCloseTo(-3.01, 1);
    expect(rmsDbfs(sineTone({ hz: 1000, sampleRate: 8_000, seconds: 1, amplitude: 0.5 }), 8_000)).toBeCloseTo(-9.03, 1);
    expect(rmsDbfs(new Float32Array([0.5, -0.5]), 8_000)).toBeCloseTo(-6.02, 1);
    expect(rmsDbfs(new Int16Array(100), 8_000)).toBe(-Infinity);
  });

  it('tells silence (and G.711 idle noise) from a tone', () => {
    const sampleRate = 8_000;
    const quiet = Int16Array.from({ length: sampleRate }, (_, i) => (i % 2 ? 8 : -8)); // A-law's idle code
    expect(isSilent(new Int16Array(sampleRate), sampleRate)).toBe(true);
    expect(isSilent(quiet, sampleRate)).toBe(true);
    expect(isSilent(sineTone({ hz: 600, sampleRate, seconds: 1, amplitude: 0.05 }), sampleRate)).toBe(false);
    expect(isSilent(quiet, sampleRate, { thresholdDbfs: -80 })).toBe(false);
  });

  it('looks only at the requested segment', () => {
    const sampleRate = 8_000;
    const toneThenSilence = new Int16Array([...sineTone({ hz: 600, sampleRate, seconds: 0.5 }), ...new Int16Array(4_000)]);
    expect(isSilent(toneThenSilence, sampleRate, { fromSeconds: 0.5 })).toBe(true);
    expect(isSilent(toneThenSilence, sampleRate, { toSeconds: 0.5 })).toBe(false);
  });
});
