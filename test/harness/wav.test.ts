import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dominantFrequencyHz, sineTone } from '../support/audio/tone.js';
import { channel, decodeWav, durationSeconds, encodeWav, mixToMono, readWav, writeWav, type PcmAudio } from '../support/audio/wav.js';

function stereo(left: Int16Array, right: Int16Array): Int16Array {
  return Int16Array.from({ length: left.length * 2 }, (_, i) => (i % 2 ? right : left)[i >> 1]!);
}

/** A WAV as other writers lay it out: the given fmt chunk, an odd-sized LIST chunk, then data. */
function foreignWav(fmt: Buffer, data: Buffer, dataSizeField = data.length): Buffer {
  const chunk = (id: string, body: Buffer, size = body.length) => {
    const header = Buffer.alloc(8);
    header.write(id, 0, 'ascii');
    header.writeUInt32LE(size, 4);
    return Buffer.concat([header, body, Buffer.alloc(body.length % 2)]);
  };
  const body = Buffer.concat([Buffer.from('WAVE'), chunk('fmt ', fmt), chunk('LIST', Buffer.from('INFOx')), chunk('data', data, dataSizeField)]);
  return Buffer.concat([Buffer.from('RIFF'), Buffer.from(Uint32Array.of(body.length).buffer), body]);
}

function pcmFormat({ tag, channels, sampleRate, bits = 16 }: { tag: number; channels: number; sampleRate: number; bits?: number }): Buffer {
  const fmt = Buffer.alloc(tag === 0xfffe ? 40 : 16);
  fmt.writeUInt16LE(tag, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(sampleRate, 4);
  fmt.writeUInt32LE(sampleRate * channels * (bits / 8), 8);
  fmt.writeUInt16LE(channels * (bits / 8), 12);
  fmt.writeUInt16LE(bits, 14);
  if (tag === 0xfffe) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(1, 24); // sub-format GUID starts with the PCM tag
  }
  return fmt;
}

describe('WAV files', () => {
  it('round-trips mono and stereo audio at any rate, through a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wav-test-'));
    try {
      const mono: PcmAudio = { sampleRate: 8_000, channels: 1, samples: Int16Array.of(0, 1, -1, 32_767, -32_768) };
      const both: PcmAudio = { sampleRate: 44_100, channels: 2, samples: Int16Array.of(1, 2, 3, 4) };
      for (const audio of [mono, both]) {
        await writeWav(join(dir, 'a.wav'), audio);
        expect(await readWav(join(dir, 'a.wav'))).toEqual(audio);
      }
      expect(encodeWav(mono).length).toBe(44 + 10);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('separates and mixes stereo channels', () => {
    const sampleRate = 48_000;
    const left = sineTone({ hz: 600, sampleRate, seconds: 0.5 });
    const right = sineTone({ hz: 1000, sampleRate, seconds: 0.5, amplitude: 0.1 });
    const audio = decodeWav(encodeWav({ sampleRate, channels: 2, samples: stereo(left, right) }));

    expect(durationSeconds(audio)).toBe(0.5);
    expect(channel(audio, 0)).toEqual(left);
    expect(Math.abs(dominantFrequencyHz(channel(audio, 1), sampleRate) - 1000)).toBeLessThan(2);
    expect(Math.abs(dominantFrequencyHz(mixToMono(audio), sampleRate) - 600)).toBeLessThan(2);
    expect(() => channel(audio, 2)).toThrow(RangeError);
  });

  it('reads extensible formats and skips unknown chunks', () => {
    const data = Buffer.from(Int16Array.of(5, -5, 7, -7).buffer);
    const audio = decodeWav(foreignWav(pcmFormat({ tag: 0xfffe, channels: 2, sampleRate: 16_000 }), data));
    expect(audio).toEqual({ sampleRate: 16_000, channels: 2, samples: Int16Array.of(5, -5, 7, -7) });
  });

  it('cuts a data chunk that claims more than the file holds (a writer that never closed)', () => {
    const data = Buffer.from(Int16Array.of(1, 2, 3).buffer);
    const audio = decodeWav(foreignWav(pcmFormat({ tag: 1, channels: 1, sampleRate: 8_000 }), data, 0xffffffff));
    expect([...audio.samples]).toEqual([1, 2, 3]);
  });

  it('rejects what it cannot read', () => {
    expect(() => decodeWav(Buffer.from('not a wav file at all'))).toThrow('not a RIFF/WAVE file');
    const eightBit = foreignWav(pcmFormat({ tag: 1, channels: 1, sampleRate: 8_000, bits: 8 }), Buffer.alloc(4));
    expect(() => decodeWav(eightBit)).toThrow('only 16-bit PCM');
    const float = foreignWav(pcmFormat({ tag: 3, channels: 1, sampleRate: 8_000, bits: 32 }), Buffer.alloc(8));
    expect(() => decodeWav(float)).toThrow('only 16-bit PCM');
  });
});
