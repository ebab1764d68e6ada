import { describe, expect, it } from 'vitest';
import { Downsampler, Upsampler } from '../../../src/media/mixer/resampler.js';
import { dominantFrequencyHz, rmsDbfs, sineTone, toneLevelDbfs } from '../../support/audio/tone.js';

const toneAt16k = (hz: number) => sineTone({ hz, sampleRate: 16_000, seconds: 1, amplitude: 0.5 });
const settled = { fromSeconds: 0.1 };

describe('Downsampler (16 → 8 kHz)', () => {
  it('keeps voice-band tones at their frequency and level', () => {
    for (const hz of [300, 1000, 3000]) {
      const out = new Downsampler().process(toneAt16k(hz));
      expect(out.length).toBe(8000);
      expect(Math.abs(dominantFrequencyHz(out, 8000, settled) - hz)).toBeLessThan(1);
      expect(Math.abs(rmsDbfs(out, 8000, settled) - rmsDbfs(toneAt16k(hz), 16_000, settled))).toBeLessThan(0.5);
    }
  });

  it('removes what would fold back: tones above 4.5 kHz come out at least 50 dB down', () => {
    for (const hz of [4500, 6000, 7500]) {
      const out = new Downsampler().process(toneAt16k(hz));
      expect(rmsDbfs(out, 8000, settled) - rmsDbfs(toneAt16k(hz), 16_000, settled)).toBeLessThan(-50);
    }
  });

  it('gives the same 20 ms at a time as all at once', () => {
    const input = toneAt16k(1234);
    const whole = new Downsampler().process(input);
    const streaming = new Downsampler();
    const framed = new Int16Array(whole.length);
    for (let f = 0; f < input.length / 320; f++) framed.set(streaming.process(input.subarray(f * 320, (f + 1) * 320)), f * 160);
    expect([...framed]).toEqual([...whole]);
  });
});

describe('Upsampler (8 → 16 kHz)', () => {
  const toneAt8k = (hz: number) => sineTone({ hz, sampleRate: 8000, seconds: 1, amplitude: 0.5 });

  it('keeps voice-band tones at their frequency and level', () => {
    for (const hz of [300, 1000, 3000]) {
      const out = new Upsampler().process(toneAt8k(hz));
      expect(out.length).toBe(16_000);
      expect(Math.abs(dominantFrequencyHz(out, 16_000, settled) - hz)).toBeLessThan(1);
      expect(Math.abs(rmsDbfs(out, 16_000, settled) - rmsDbfs(toneAt8k(hz), 8000, settled))).toBeLessThan(0.5);
    }
  });

  it('removes the image zero-stuffing makes: a tone at f leaves nothing at 8000 − f above −50 dB', () => {
    for (const hz of [1000, 3000]) {
      const out = new Upsampler().process(toneAt8k(hz));
      const tone = toneLevelDbfs(out, 16_000, hz, settled);
      expect(tone).toBeGreaterThan(-10);
      expect(toneLevelDbfs(out, 16_000, 8000 - hz, settled) - tone).toBeLessThan(-50);
    }
  });

  it('gives the same 20 ms at a time as all at once', () => {
    const input = toneAt8k(777);
    const whole = new Upsampler().process(input);
    const streaming = new Upsampler();
    const framed = new Int16Array(whole.length);
    for (let f = 0; f < input.length / 160; f++) framed.set(streaming.process(input.subarray(f * 160, (f + 1) * 160)), f * 320);
    expect([...framed]).toEqual([...whole]);
  });
});
