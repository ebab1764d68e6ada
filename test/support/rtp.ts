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

/** 20 ms of a sine tone at 8 kHz, G.711 µ-law encoded (the reference algorithm of ITU-T G.711). */
export function pcmuTone(frequencyHz: number, frameIndex: number, amplitude = 8000): Buffer {
  const out = Buffer.alloc(160);
  for (let i = 0; i < 160; i++) {
    const n = frameIndex * 160 + i;
    out[i] = linearToUlaw(Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * n) / 8000)));
  }
  return out;
}

function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  const CLIP = 32635;
  const sign = sample < 0 ? 0x80 : 0;
  let magnitude = Math.min(Math.abs(sample), CLIP) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}
