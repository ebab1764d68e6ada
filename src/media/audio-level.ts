/**
 * RFC 6464 client-to-mixer audio levels. Phones do not send them, but mediasoup's
 * AudioLevelObserver and ActiveSpeakerObserver (who is speaking, who is dominant) read
 * nothing else, so the gateway measures a phone's G.711 packets and writes the level into
 * each one before mediasoup sees it.
 */

/** The RTP header extension's URI, as mediasoup names it. */
export const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';

/** Digital silence, and anything quieter than −127 dBov (RFC 6464 §3). */
const SILENCE = 127;

/** The packet's level as RFC 6464 carries it: −dBov of its RMS, 0 (full scale) to 127. */
export function audioLevel(samples: Int16Array): number {
  if (samples.length === 0) return SILENCE;
  let energy = 0;
  for (const sample of samples) energy += sample * sample;
  if (energy === 0) return SILENCE;
  const rms = Math.sqrt(energy / samples.length) / 32768;
  return Math.min(SILENCE, Math.max(0, Math.round(-20 * Math.log10(rms))));
}

/**
 * The packet with a one-byte-header extension (RFC 8285) carrying `level` under `id`.
 * A packet that already has an extension block is returned as it is: the phone's own
 * extensions are kept rather than merged.
 */
export function withAudioLevelExtension(packet: Buffer, id: number, level: number): Buffer {
  if (packet[0]! & 0x10) return packet;
  const headerLength = 12 + 4 * (packet[0]! & 0x0f);
  if (packet.length < headerLength) return packet;
  const out = Buffer.allocUnsafe(packet.length + 8);
  packet.copy(out, 0, 0, headerLength);
  out[0] = packet[0]! | 0x10;
  out.writeUInt16BE(0xbede, headerLength);
  out.writeUInt16BE(1, headerLength + 2); // one 32-bit word of extension data
  out[headerLength + 4] = (id << 4) | 0; // length field 0 means one byte of data
  out[headerLength + 5] = level & 0x7f;
  out.writeUInt16BE(0, headerLength + 6); // padding
  packet.copy(out, headerLength + 8, headerLength);
  return out;
}
