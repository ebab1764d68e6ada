import { describe, expect, it } from 'vitest';
import { audioLevel, readAudioLevel, withAudioLevelExtension } from '../../src/media/audio-level.js';
import { readRtp } from '../../src/media/rtp-packet.js';
import { sineTone } from '../support/audio/tone.js';
import { rtpPacket } from '../support/rtp.js';

describe('audioLevel (RFC 6464)', () => {
  it('gives 127 for digital silence and an empty packet', () => {
    expect(audioLevel(new Int16Array(160))).toBe(127);
    expect(audioLevel(new Int16Array(0))).toBe(127);
  });

  it('gives −dBov of the RMS: a full-scale square wave is 0, a sine at half scale about 9', () => {
    expect(audioLevel(Int16Array.from({ length: 160 }, (_, i) => (i % 2 ? 32767 : -32768)))).toBe(0);
    // A sine's RMS is amplitude/√2: 0.5/√2 → −9.03 dBov.
    expect(audioLevel(sineTone({ hz: 1000, sampleRate: 8000, seconds: 0.02, amplitude: 0.5 }))).toBe(9);
  });

  it('tells the quietest audio a packet can hold from silence: one step in 160 samples is 112', () => {
    expect(audioLevel(Int16Array.from({ length: 160 }, (_, i) => (i === 0 ? 1 : 0)))).toBe(112);
  });
});

describe('withAudioLevelExtension', () => {
  const packet = () => rtpPacket({ payloadType: 0, sequenceNumber: 7, timestamp: 1600, ssrc: 0x1234 }, Buffer.from([1, 2, 3, 4]));

  it('adds a one-byte-header extension carrying the level and keeps header fields and payload', () => {
    const out = withAudioLevelExtension(packet(), 1, 42);
    expect(out[0]! & 0x10).toBe(0x10);
    expect(out.readUInt16BE(12)).toBe(0xbede);
    expect(out.readUInt16BE(14)).toBe(1);
    expect(out[16]).toBe(0x10); // id 1, one byte
    expect(out[17]).toBe(42);
    const view = readRtp(out)!;
    expect(view).toMatchObject({ payloadType: 0, sequenceNumber: 7, timestamp: 1600 });
    expect([...view.payload]).toEqual([1, 2, 3, 4]);
  });

  it('leaves a packet that already has extensions as it is', () => {
    const withExtension = withAudioLevelExtension(packet(), 1, 42);
    expect(withAudioLevelExtension(withExtension, 2, 10)).toBe(withExtension);
  });
});

describe('readAudioLevel', () => {
  const plain = () => rtpPacket({ payloadType: 111, sequenceNumber: 1, timestamp: 960, ssrc: 9 }, Buffer.from([0xf8, 0xff]));

  /** A packet with a raw extension block (profile + elements, padded to 32 bits). */
  function withExtensions(profile: number, elements: number[]): Buffer {
    const body = Buffer.from(elements);
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    const packet = plain();
    const header = Buffer.alloc(4);
    header.writeUInt16BE(profile, 0);
    header.writeUInt16BE(padded.length / 4, 2);
    const out = Buffer.concat([packet.subarray(0, 12), header, padded, packet.subarray(12)]);
    out[0] = out[0]! | 0x10;
    return out;
  }

  it('reads the level the writer wrote, ignoring the voice-activity bit', () => {
    expect(readAudioLevel(withAudioLevelExtension(plain(), 4, 57), 4)).toBe(57);
    expect(readAudioLevel(withExtensions(0xbede, [0x40, 0x80 | 33]), 4)).toBe(33);
  });

  it('finds it among other one-byte elements and padding, as browsers send it', () => {
    // id 3 (abs-send-time, 3 bytes), padding, id 1 (level).
    expect(readAudioLevel(withExtensions(0xbede, [0x32, 1, 2, 3, 0, 0x10, 0x80 | 12]), 1)).toBe(12);
  });

  it('reads two-byte-header extensions too', () => {
    expect(readAudioLevel(withExtensions(0x1000, [7, 2, 0xaa, 0xbb, 1, 1, 99]), 1)).toBe(99);
  });

  it('gives undefined without an extension, for another id, or for a truncated block', () => {
    expect(readAudioLevel(plain(), 1)).toBeUndefined();
    expect(readAudioLevel(withAudioLevelExtension(plain(), 4, 57), 1)).toBeUndefined();
    const truncated = withExtensions(0xbede, [0x13, 1]); // claims 2 bytes, block ends after 3
    expect(readAudioLevel(truncated.subarray(0, 16), 1)).toBeUndefined();
  });
});
