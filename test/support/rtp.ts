import { g711Encode } from '../../src/media/codecs/g711.js';
import { writeRtp } from '../../src/media/rtp-packet.js';

/** Builds plain RTP packets (RFC 3550, no extensions) for tests that send real media. */
export const rtpPacket = writeRtp;

/** 20 ms of a sine tone at 8 kHz, G.711 µ-law encoded. */
export function pcmuTone(frequencyHz: number, frameIndex: number, amplitude = 8000): Buffer {
  const samples = new Int16Array(160);
  for (let i = 0; i < 160; i++) {
    const n = frameIndex * 160 + i;
    samples[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * n) / 8000));
  }
  return g711Encode('PCMU', samples);
}
