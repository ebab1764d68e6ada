import { describe, expect, it } from 'vitest';
import { G722Decoder, G722Encoder } from '../../../src/media/codecs/g722.js';
import { spandspG722Decode, spandspG722Encode } from '../../support/audio/spandsp-g722.js';
import { dominantFrequencyHz } from '../../support/audio/tone.js';

const RATE = 16_000;

/** Speech-like test signal: a sweep, two tones, full-scale clipping bursts, silence and noise. */
function testSignal(seconds: number): Int16Array {
  const out = new Int16Array(seconds * RATE);
  let seed = 12345;
  const noise = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
  for (let i = 0; i < out.length; i++) {
    const t = i / RATE;
    const part = Math.floor(t * 4) % 5;
    const value =
      part === 0 ? 12000 * Math.sin(2 * Math.PI * (100 + 3500 * (t % 0.25) * 4) * t)
      : part === 1 ? 9000 * Math.sin(2 * Math.PI * 440 * t) + 6000 * Math.sin(2 * Math.PI * 5200 * t)
      : part === 2 ? 40000 * Math.sin(2 * Math.PI * 300 * t)
      : part === 3 ? 0
      : 20000 * noise();
    out[i] = Math.max(-32768, Math.min(32767, Math.round(value)));
  }
  return out;
}

describe('G.722 (64 kbit/s)', () => {
  const signal = testSignal(5);

  it('encodes bit-exactly as the ITU-validated reference (spandsp)', () => {
    const ours = new G722Encoder().encode(signal);
    const reference = spandspG722Encode(signal);
    expect(ours.length).toBe(signal.length / 2);
    expect(ours.equals(reference)).toBe(true);
  });

  it('decodes bit-exactly as the reference while the output fits in 16 bits', () => {
    const moderate = signal.map((sample) => sample >> 1);
    const encoded = spandspG722Encode(moderate);
    expect(Buffer.from(new G722Decoder().decode(encoded).buffer).equals(Buffer.from(spandspG722Decode(encoded).buffer))).toBe(true);
  });

  it('saturates output that overflows 16 bits, where the reference (spandsp 0.0.6) wraps around, and differs nowhere else', () => {
    const everyCode = Uint8Array.from({ length: 4096 }, (_, i) => (i * 37 + (i >> 8)) & 0xff);
    for (const payload of [everyCode, spandspG722Encode(signal)]) {
      const ours = new G722Decoder().decode(payload);
      const reference = spandspG722Decode(payload);
      const differing = [...ours.keys()].filter((i) => ours[i] !== reference[i]);
      expect(differing.every((i) => ours[i] === 32767 || ours[i] === -32768)).toBe(true);
    }
  });

  it('keeps its state across packets: 20 ms at a time equals all at once', () => {
    const whole = new G722Encoder().encode(signal);
    const encoder = new G722Encoder();
    const framed = Buffer.concat(Array.from({ length: signal.length / 320 }, (_, f) => encoder.encode(signal.subarray(f * 320, (f + 1) * 320))));
    expect(framed.equals(whole)).toBe(true);
  });

  it('carries a tone through encode and decode at its frequency', () => {
    const tone = Int16Array.from({ length: RATE }, (_, i) => Math.round(10000 * Math.sin((2 * Math.PI * 1000 * i) / RATE)));
    const decoded = new G722Decoder().decode(new G722Encoder().encode(tone));
    expect(Math.abs(dominantFrequencyHz(decoded, RATE, { fromSeconds: 0.2 }) - 1000)).toBeLessThan(2);
  });
});
