import { describe, expect, it } from 'vitest';
import { g711Decode, g711Encode, type G711Law } from '../../../src/media/codecs/g711.js';
import { dominantFrequencyHz, sineTone } from '../../support/audio/tone.js';

const ALL_CODES = Uint8Array.from({ length: 256 }, (_, code) => code);

describe('G.711', () => {
  it.each([
    ['PCMU', [0xff, 0x7f, 0xfe, 0x00, 0x80], [0, 0, 8, -32_124, 32_124]],
    ['PCMA', [0xd5, 0x55, 0xaa, 0x2a], [8, -8, 32_256, -32_256]],
  ] as const)('%s decodes the reference values', (law, codes, samples) => {
    expect([...g711Decode(law, Uint8Array.from(codes))]).toEqual(samples);
  });

  it('encodes silence as the idle code', () => {
    expect([...g711Encode('PCMU', new Int16Array([0, -1]))]).toEqual([0xff, 0x7f]);
    expect([...g711Encode('PCMA', new Int16Array([0, -1]))]).toEqual([0xd5, 0x55]);
  });

  it.each(['PCMU', 'PCMA'] as const)('%s: every code survives decode then encode', (law: G711Law) => {
    const codes = law === 'PCMU' ? ALL_CODES.filter((code) => code !== 0x7f) : ALL_CODES; // µ-law has a negative zero
    expect([...g711Encode(law, g711Decode(law, codes))]).toEqual([...codes]);
  });

  it.each(['PCMU', 'PCMA'] as const)('%s: keeps the extremes and is monotonic', (law: G711Law) => {
    const ramp = Int16Array.from({ length: 65_536 }, (_, i) => i - 32_768);
    const decoded = g711Decode(law, g711Encode(law, ramp));
    const firstDecrease = decoded.findIndex((sample, i) => i > 0 && sample < decoded[i - 1]!);
    expect(firstDecrease).toBe(-1);
    expect(decoded[0]).toBeLessThan(-32_000);
    expect(decoded.at(-1)).toBeGreaterThan(32_000);
  });

  it.each(['PCMU', 'PCMA'] as const)('%s: a tone comes back with about 35 dB SNR', (law: G711Law) => {
    const tone = sineTone({ hz: 1000, sampleRate: 8_000, seconds: 0.5, amplitude: 0.3 });
    const decoded = g711Decode(law, g711Encode(law, tone));
    let signal = 0;
    let noise = 0;
    for (let i = 0; i < tone.length; i++) {
      signal += tone[i]! ** 2;
      noise += (tone[i]! - decoded[i]!) ** 2;
    }
    expect(10 * Math.log10(signal / noise)).toBeGreaterThan(30);
    expect(Math.abs(dominantFrequencyHz(decoded, 8_000) - 1000)).toBeLessThan(0.5);
  });
});
