/**
 * Reading a compound RTCP packet (RFC 3550 §6.1, validity checks of A.2). Whatever arrives on
 * the RTCP port comes from the network, so nothing here throws: a packet that does not hold
 * together is an error value that says what is wrong with it.
 */
import { isRtcp } from '../rtp-packet.js';
import {
  RTCP_GOODBYE,
  RTCP_RECEIVER_REPORT,
  RTCP_SENDER_REPORT,
  RTCP_SOURCE_DESCRIPTION,
  type ReportBlock,
  type RtcpPacket,
  type SdesItem,
} from './rtcp-packet.js';

export type RtcpReadResult =
  | { readonly ok: true; readonly packets: readonly RtcpPacket[] }
  | { readonly ok: false; readonly error: string };

class MalformedRtcp extends Error {}

const fail = (message: string): never => {
  throw new MalformedRtcp(message);
};

export function readRtcp(compound: Buffer): RtcpReadResult {
  if (compound.length === 0) return { ok: false, error: 'RTCP packet is empty' };
  if (compound.length % 4 !== 0) return { ok: false, error: `RTCP compound packet is ${compound.length} bytes, not a multiple of 4` };
  // Under rtcp-mux RTP shares the port; its packet types are outside RTCP's (RFC 5761 §4).
  if (!isRtcp(compound)) return { ok: false, error: `RTCP packet 1 has packet type ${compound[1]}, outside RTCP's 192-223` };
  const packets: RtcpPacket[] = [];
  let offset = 0;
  try {
    while (offset < compound.length) {
      const packetBytes = readOne(compound, offset, packets.length + 1, packets);
      offset += packetBytes;
    }
  } catch (error) {
    if (error instanceof MalformedRtcp) return { ok: false, error: error.message };
    throw error;
  }
  return { ok: true, packets };
}

/** Reads the packet at `offset` into `packets`; returns its length in bytes. */
function readOne(compound: Buffer, offset: number, index: number, packets: RtcpPacket[]): number {
  const what = `RTCP packet ${index}`;
  // The compound's length and every packet's are multiples of 4, so a whole header is there.
  const first = compound[offset]!;
  if (first >> 6 !== 2) fail(`${what} has RTP version ${first >> 6}, not 2`);
  const count = first & 0x1f;
  const packetType = compound[offset + 1]!;
  const packetBytes = (compound.readUInt16BE(offset + 2) + 1) * 4;
  if (offset + packetBytes > compound.length) {
    fail(`${what} (type ${packetType}) says it is ${packetBytes} bytes but ${compound.length - offset} are left`);
  }
  let end = offset + packetBytes;
  if (first & 0x20) {
    // Only the last packet of a compound may be padded (A.2); the last octet counts the padding.
    if (end !== compound.length) fail(`${what} (type ${packetType}) is padded but is not the last in the compound packet`);
    const padding = compound[end - 1]!;
    if (padding === 0 || padding > packetBytes - 4) fail(`${what} (type ${packetType}) has a padding count of ${padding} in ${packetBytes} bytes`);
    end -= padding;
  }
  const body = compound.subarray(offset + 4, end);
  const describe = `${what} (type ${packetType}, ${body.length}-byte body)`;
  switch (packetType) {
    case RTCP_SENDER_REPORT:
      packets.push(readSenderReport(body, count, describe));
      break;
    case RTCP_RECEIVER_REPORT:
      packets.push(readReceiverReport(body, count, describe));
      break;
    case RTCP_SOURCE_DESCRIPTION:
      packets.push(readSourceDescription(body, count, describe));
      break;
    case RTCP_GOODBYE:
      packets.push(readGoodbye(body, count, describe));
      break;
    default:
      packets.push({ type: 'other', packetType, bytes: packetBytes });
  }
  return packetBytes;
}

function need(body: Buffer, bytes: number, describe: string, forWhat: string) {
  if (body.length < bytes) fail(`${describe} is too short for ${forWhat} (${bytes} bytes)`);
}

function readReportBlocks(body: Buffer, offset: number, count: number): ReportBlock[] {
  const blocks: ReportBlock[] = [];
  for (let at = offset; blocks.length < count; at += 24) {
    blocks.push({
      ssrc: body.readUInt32BE(at),
      fractionLost: body[at + 4]!,
      cumulativeLost: body.readIntBE(at + 5, 3),
      extendedHighestSequence: body.readUInt32BE(at + 8),
      jitter: body.readUInt32BE(at + 12),
      lastSenderReport: body.readUInt32BE(at + 16),
      delaySinceLastSenderReport: body.readUInt32BE(at + 20),
    });
  }
  return blocks;
}

// Bytes after the report blocks are a profile-specific extension (§6.4.1): ignored.
function readSenderReport(body: Buffer, count: number, describe: string): RtcpPacket {
  need(body, 24 + 24 * count, describe, `sender info and ${count} report blocks`);
  return {
    type: 'sender-report',
    ssrc: body.readUInt32BE(0),
    sender: {
      ntpSeconds: body.readUInt32BE(4),
      ntpFraction: body.readUInt32BE(8),
      rtpTimestamp: body.readUInt32BE(12),
      packetCount: body.readUInt32BE(16),
      octetCount: body.readUInt32BE(20),
    },
    reports: readReportBlocks(body, 24, count),
  };
}

function readReceiverReport(body: Buffer, count: number, describe: string): RtcpPacket {
  need(body, 4 + 24 * count, describe, `an SSRC and ${count} report blocks`);
  return { type: 'receiver-report', ssrc: body.readUInt32BE(0), reports: readReportBlocks(body, 4, count) };
}

function readSourceDescription(body: Buffer, count: number, describe: string): RtcpPacket {
  const chunks: { ssrc: number; items: SdesItem[] }[] = [];
  let at = 0;
  while (chunks.length < count) {
    need(body, at + 4, describe, `the SSRC of chunk ${chunks.length + 1}`);
    const chunk = { ssrc: body.readUInt32BE(at), items: [] as SdesItem[] };
    at += 4;
    for (;;) {
      need(body, at + 1, describe, `the items of chunk ${chunks.length + 1}`);
      const itemType = body[at]!;
      if (itemType === 0) break;
      need(body, at + 2, describe, `the length of an item in chunk ${chunks.length + 1}`);
      const textEnd = at + 2 + body[at + 1]!;
      need(body, textEnd, describe, `an item of type ${itemType} in chunk ${chunks.length + 1}`);
      chunk.items.push({ type: itemType, text: body.toString('utf8', at + 2, textEnd) });
      at = textEnd;
    }
    // The terminating null octet, then nulls up to the next 32-bit boundary (body offsets are aligned).
    at = (Math.floor(at / 4) + 1) * 4;
    need(body, at, describe, `the padding of chunk ${chunks.length + 1}`);
    chunks.push(chunk);
  }
  return { type: 'source-description', chunks };
}

function readGoodbye(body: Buffer, count: number, describe: string): RtcpPacket {
  need(body, 4 * count, describe, `${count} SSRCs`);
  const ssrcs = Array.from({ length: count }, (_, index) => body.readUInt32BE(4 * index));
  const reasonAt = 4 * count;
  if (body.length === reasonAt) return { type: 'goodbye', ssrcs };
  const reasonEnd = reasonAt + 1 + body[reasonAt]!;
  need(body, reasonEnd, describe, `a ${reasonEnd - reasonAt - 1}-byte reason`);
  return { type: 'goodbye', ssrcs, reason: body.toString('utf8', reasonAt + 1, reasonEnd) };
}
