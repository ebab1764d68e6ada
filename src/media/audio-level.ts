/**
 * RFC 6464 client-to-mixer audio levels. Phones do not send them, so the gateway measures
 * a phone's G.711 and G.722 packets: the mixer ranks talkers and the media thread judges
 * speaking by them, and a packet relayed to mediasoup carries its level in this extension
 * (browsers' levels reach mediasoup's AudioLevelObserver the same way).
 */

/** The RTP header extension's URI, as mediasoup names it. */
export const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';

/** Digital silence, and anything quieter than −127 dBov (RFC 6464 §3). */
const SILENCE = 127;

/** The packet's level as RFC 6464 carries it: −dBov of its RMS, 0 (full scale) to 127. */
export function audioLevel(samples: Int16Array): number {
  let energy = 0;
  for (const sample of samples) energy += sample * sample;
  return levelOfEnergy(energy, samples.length);
}

/** The same from the sum of the squared samples and their count. */
export function levelOfEnergy(energy: number, count: number): number {
  if (count === 0 || energy === 0) return SILENCE;
  const rms = Math.sqrt(energy / count) / 32768;
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

/**
 * The RFC 6464 level in an RTP packet's header extension `id` (one-byte or two-byte
 * header form, RFC 8285), or undefined when the packet carries none.
 */
export function readAudioLevel(packet: Buffer, id: number): number | undefined {
  if (packet.length < 12 || !(packet[0]! & 0x10)) return undefined;
  const start = 12 + 4 * (packet[0]! & 0x0f);
  if (packet.length < start + 4) return undefined;
  const profile = packet.readUInt16BE(start);
  const end = Math.min(packet.length, start + 4 + 4 * packet.readUInt16BE(start + 2));
  const oneByte = profile === 0xbede;
  if (!oneByte && (profile & 0xfff0) !== 0x1000) return undefined;
  let offset = start + 4;
  while (offset < end) {
    const first = packet[offset]!;
    if (first === 0) {
      offset++; // padding
      continue;
    }
    const elementId = oneByte ? first >> 4 : first;
    if (oneByte && elementId === 15) return undefined; // reserved: stop reading (RFC 8285 §4.2)
    const length = oneByte ? (first & 0x0f) + 1 : packet[offset + 1]!;
    const data = offset + (oneByte ? 1 : 2);
    if (data + length > end) return undefined;
    if (elementId === id && length >= 1) return packet[data]! & 0x7f;
    offset = data + length;
  }
  return undefined;
}
