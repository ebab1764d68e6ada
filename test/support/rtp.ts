import { g711Encode } from '../../src/media/codecs/g711.js';

/** Builds plain RTP packets (RFC 3550, no extensions) for tests that send real media. */
export function rtpPacket(fields: { payloadType: number; sequenceNumber: number; timestamp: number; ssrc: number; marker?: boolean }, payload: Buffer): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = (fields.marker ? 0x80 : 0) | (fields.payloadType & 0x7f);
  header.writeUInt16BE(fields.sequenceNumber & 0xffff, 2);
  header.writeUInt32BE(fields.timestamp >>> 0, 4);
  header.writeUInt32BE(fields.ssrc >>> 0, 8);
  return Buffer.concat([header, payload]);
}

/** 20 ms of a sine tone at 8 kHz, G.711 µ-law encoded. */
export function pcmuTone(frequencyHz: number, frameIndex: number, amplitude = 8000): Buffer {
  const samples = new Int16Array(160);
  for (let i = 0; i < 160; i++) {
    const n = frameIndex * 160 + i;
    samples[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * n) / 8000));
  }
  return g711Encode('PCMU', samples);
}
