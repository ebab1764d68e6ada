/**
 * The RTCP packets a two-party call exchanges (RFC 3550 §6.4-§6.6) and how to write them.
 * Reading is in read-rtcp.ts. Every packet is a 4-byte header (version 2, padding, a 5-bit
 * count, the packet type, the length in 32-bit words minus one) and a body.
 */

export const RTCP_SENDER_REPORT = 200;
export const RTCP_RECEIVER_REPORT = 201;
export const RTCP_SOURCE_DESCRIPTION = 202;
export const RTCP_GOODBYE = 203;

/** The SDES item that names an endpoint; the only one a report must carry (§6.5.1). */
export const SDES_CNAME = 1;

const REPORT_BLOCK_BYTES = 24;
const MAX_COUNT = 31;
const MAX_TEXT_BYTES = 255;

/** One reception report block (§6.4.1): what the reporter saw of one source's RTP. */
export interface ReportBlock {
  readonly ssrc: number;
  /** Packets lost over packets expected since the previous report, in 1/256 (0-255). */
  readonly fractionLost: number;
  /** Packets expected minus received since the start; signed 24 bits (duplicates make it negative). */
  readonly cumulativeLost: number;
  /** The highest sequence number received, with the count of wraps in the high 16 bits. */
  readonly extendedHighestSequence: number;
  /** Interarrival jitter in RTP timestamp units. */
  readonly jitter: number;
  /** The middle 32 bits of the NTP timestamp of the last SR from this source; 0 when none. */
  readonly lastSenderReport: number;
  /** Time between receiving that SR and sending this block, in 1/65536 s; 0 when none. */
  readonly delaySinceLastSenderReport: number;
}

/** The sender information of an SR (§6.4.1): the NTP and RTP times of one instant, and counts. */
export interface SenderInfo {
  readonly ntpSeconds: number;
  readonly ntpFraction: number;
  readonly rtpTimestamp: number;
  readonly packetCount: number;
  /** Payload octets sent (no headers, no padding). */
  readonly octetCount: number;
}

export interface SdesItem {
  readonly type: number;
  readonly text: string;
}

export type RtcpPacket =
  | { readonly type: 'sender-report'; readonly ssrc: number; readonly sender: SenderInfo; readonly reports: readonly ReportBlock[] }
  | { readonly type: 'receiver-report'; readonly ssrc: number; readonly reports: readonly ReportBlock[] }
  | { readonly type: 'source-description'; readonly chunks: readonly { readonly ssrc: number; readonly items: readonly SdesItem[] }[] }
  | { readonly type: 'goodbye'; readonly ssrcs: readonly number[]; readonly reason?: string }
  /** A type this gateway does not use (APP, feedback, XR, ...): skipped whole. */
  | { readonly type: 'other'; readonly packetType: number; readonly bytes: number };

function header(packet: Buffer, count: number, packetType: number): Buffer {
  packet[0] = 0x80 | count;
  packet[1] = packetType;
  packet.writeUInt16BE(packet.length / 4 - 1, 2);
  return packet;
}

function checkCount(what: string, count: number) {
  if (count > MAX_COUNT) throw new RangeError(`an RTCP packet holds at most ${MAX_COUNT} ${what}, not ${count}`);
}

function writeReportBlock(packet: Buffer, offset: number, block: ReportBlock) {
  packet.writeUInt32BE(block.ssrc >>> 0, offset);
  packet[offset + 4] = Math.min(255, Math.max(0, block.fractionLost));
  // A signed 24-bit field: a count beyond it saturates (§6.4.1).
  const cumulativeLost = Math.min(0x7fffff, Math.max(-0x800000, block.cumulativeLost));
  packet.writeUIntBE(cumulativeLost & 0xffffff, offset + 5, 3);
  packet.writeUInt32BE(block.extendedHighestSequence >>> 0, offset + 8);
  packet.writeUInt32BE(Math.min(0xffffffff, Math.max(0, Math.floor(block.jitter))), offset + 12);
  packet.writeUInt32BE(block.lastSenderReport >>> 0, offset + 16);
  packet.writeUInt32BE(block.delaySinceLastSenderReport >>> 0, offset + 20);
}

function writeReportBlocks(packet: Buffer, offset: number, reports: readonly ReportBlock[]) {
  reports.forEach((block, index) => writeReportBlock(packet, offset + index * REPORT_BLOCK_BYTES, block));
}

export function writeSenderReport(ssrc: number, sender: SenderInfo, reports: readonly ReportBlock[]): Buffer {
  checkCount('report blocks', reports.length);
  const packet = Buffer.alloc(28 + REPORT_BLOCK_BYTES * reports.length);
  packet.writeUInt32BE(ssrc >>> 0, 4);
  packet.writeUInt32BE(sender.ntpSeconds >>> 0, 8);
  packet.writeUInt32BE(sender.ntpFraction >>> 0, 12);
  packet.writeUInt32BE(sender.rtpTimestamp >>> 0, 16);
  packet.writeUInt32BE(sender.packetCount >>> 0, 20);
  packet.writeUInt32BE(sender.octetCount >>> 0, 24);
  writeReportBlocks(packet, 28, reports);
  return header(packet, reports.length, RTCP_SENDER_REPORT);
}

export function writeReceiverReport(ssrc: number, reports: readonly ReportBlock[]): Buffer {
  checkCount('report blocks', reports.length);
  const packet = Buffer.alloc(8 + REPORT_BLOCK_BYTES * reports.length);
  packet.writeUInt32BE(ssrc >>> 0, 4);
  writeReportBlocks(packet, 8, reports);
  return header(packet, reports.length, RTCP_RECEIVER_REPORT);
}

function textBytes(what: string, text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > MAX_TEXT_BYTES) throw new RangeError(`an RTCP ${what} is at most ${MAX_TEXT_BYTES} bytes of UTF-8, not ${bytes.length}`);
  return bytes;
}

/** An SDES packet with one chunk: this source's CNAME (§6.5). */
export function writeSourceDescription(ssrc: number, cname: string): Buffer {
  const text = textBytes('CNAME', cname);
  // The item list ends with at least one null octet, then nulls up to a 32-bit boundary.
  const items = 2 + text.length;
  const packet = Buffer.alloc(8 + items + (4 - (items % 4)));
  packet.writeUInt32BE(ssrc >>> 0, 4);
  packet[8] = SDES_CNAME;
  packet[9] = text.length;
  text.copy(packet, 10);
  return header(packet, 1, RTCP_SOURCE_DESCRIPTION);
}

/** A BYE for these sources, with an optional reason, null-padded to 32 bits (§6.6). */
export function writeGoodbye(ssrcs: readonly number[], reason?: string): Buffer {
  checkCount('sources', ssrcs.length);
  const text = reason === undefined ? undefined : textBytes('BYE reason', reason);
  const reasonBytes = text ? Math.ceil((1 + text.length) / 4) * 4 : 0;
  const packet = Buffer.alloc(4 + 4 * ssrcs.length + reasonBytes);
  ssrcs.forEach((ssrc, index) => packet.writeUInt32BE(ssrc >>> 0, 4 + 4 * index));
  if (text) {
    const offset = 4 + 4 * ssrcs.length;
    packet[offset] = text.length;
    text.copy(packet, offset + 1);
  }
  return header(packet, ssrcs.length, RTCP_GOODBYE);
}
