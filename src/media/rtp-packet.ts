/** Reading and writing the RTP fixed header (RFC 3550 §5.1). */

export interface RtpPacketView {
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly marker: boolean;
  readonly payload: Buffer;
}

/** RTCP packet types 192-223 share the port under rtcp-mux (RFC 5761 §4). */
export const isRtcp = (packet: Buffer) => packet.length >= 2 && packet[1]! >= 192 && packet[1]! <= 223;

export function readRtp(packet: Buffer): RtpPacketView | undefined {
  const end = rtpPayloadEnd(packet);
  const offset = rtpPayloadOffset(packet, end);
  if (offset < 0) return undefined;
  return {
    payloadType: packet[1]! & 0x7f,
    marker: (packet[1]! & 0x80) !== 0,
    sequenceNumber: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    payload: packet.subarray(offset, end),
  };
}

/** Where an RTP packet's payload starts; -1 when it is not RTP or its header runs past `end`, where its padding starts. */
function rtpPayloadOffset(packet: Buffer, end: number): number {
  if (packet.length < 12 || packet[0]! >> 6 !== 2) return -1;
  let offset = 12 + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) {
    if (packet.length < offset + 4) return -1;
    offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  }
  return offset > end ? -1 : offset;
}

/** Where an RTP packet's payload ends: before its padding. */
function rtpPayloadEnd(packet: Buffer): number {
  return packet[0]! & 0x20 ? packet.length - packet[packet.length - 1]! : packet.length;
}

/** The payload's size in bytes (no header, no padding), read without a view: for every packet sent. */
export function rtpPayloadLength(packet: Buffer): number | undefined {
  const end = rtpPayloadEnd(packet);
  const offset = rtpPayloadOffset(packet, end);
  return offset < 0 ? undefined : end - offset;
}

/** A packet with a plain 12-byte header (no CSRCs, no extension) and this payload. */
export function writeRtp(header: Omit<RtpPacketView, 'payload' | 'marker'> & { readonly marker?: boolean }, payload: Uint8Array): Buffer {
  const packet = Buffer.allocUnsafe(12 + payload.length);
  packet[0] = 0x80;
  packet[1] = (header.marker ? 0x80 : 0) | (header.payloadType & 0x7f);
  packet.writeUInt16BE(header.sequenceNumber & 0xffff, 2);
  packet.writeUInt32BE(header.timestamp >>> 0, 4);
  packet.writeUInt32BE(header.ssrc >>> 0, 8);
  packet.set(payload, 12);
  return packet;
}
