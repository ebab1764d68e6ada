/**
 * SRTP and SRTCP (RFC 3711) for one call with SDES keys: what the phone sends is
 * authenticated, checked against replay and decrypted with its key; what we send is
 * encrypted and authenticated with ours. AES-128 counter mode and HMAC-SHA1 from
 * node:crypto. The rollover counter of each SSRC is estimated as RFC 3711 Appendix A does,
 * and updated only by packets that authenticate.
 */
import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { counterIv, type SessionKeys, sessionKeys } from './key-derivation.js';
import { SRTCP_TAG_LENGTH, SRTP_SUITES, type SrtpKeys } from './srtp-suites.js';

/** RFC 3711 §3.3.2: at least 64 packets. */
const REPLAY_WINDOW = 64;
const RTCP_HEADER_LENGTH = 8;
const SRTCP_INDEX_LENGTH = 4;
const SRTCP_ENCRYPTED = 0x80000000;
/** An SSRC's packets, one direction. */
interface StreamState {
  /** The highest sequence number and its rollover counter (s_l and ROC). */
  seq: number;
  roc: number;
  /** The highest index that authenticated, and which of the REPLAY_WINDOW below it came. */
  highest: number;
  window: bigint;
}

export class SrtpSession {
  private readonly rtpTagLength: number;
  private readonly inRtp: SessionKeys;
  private readonly inRtcp: SessionKeys;
  private readonly outRtp: SessionKeys;
  private readonly outRtcp: SessionKeys;
  private readonly received = new Map<number, StreamState>();
  private readonly receivedRtcp = new Map<number, StreamState>();
  private readonly sent = new Map<number, StreamState>();
  /** The SRTCP index of our next report (31 bits). */
  private rtcpIndex = 0;

  constructor(readonly keys: SrtpKeys) {
    this.rtpTagLength = SRTP_SUITES[keys.suite].rtpTagLength;
    this.inRtp = sessionKeys(keys.remoteKey, false);
    this.inRtcp = sessionKeys(keys.remoteKey, true);
    this.outRtp = sessionKeys(keys.localKey, false);
    this.outRtcp = sessionKeys(keys.localKey, true);
  }

  /** The phone's SRTP packet as plain RTP; undefined when it is short, forged, tampered with or replayed. */
  unprotectRtp(packet: Buffer): Buffer | undefined {
    const headerLength = rtpHeaderLength(packet, this.rtpTagLength);
    if (headerLength === undefined) return undefined;
    const end = packet.length - this.rtpTagLength;
    const ssrc = packet.readUInt32BE(8);
    const seq = packet.readUInt16BE(2);
    const known = this.received.get(ssrc);
    const roc = known ? estimateRoc(known, seq) : 0;
    const index = roc * 0x10000 + seq;
    if (known && isReplay(known, index)) return undefined;
    const tag = rtpTag(this.inRtp.authentication, packet.subarray(0, end), roc, this.rtpTagLength);
    if (!timingSafeEqual(tag, packet.subarray(end))) return undefined;
    const plain = Buffer.allocUnsafe(end);
    packet.copy(plain, 0, 0, headerLength);
    crypt(this.inRtp, ssrc, index, packet.subarray(headerLength, end)).copy(plain, headerLength);
    const state = known ?? { seq, roc, highest: index, window: 0n };
    this.received.set(ssrc, state);
    accept(state, index, seq, roc);
    return plain;
  }

  /** Our RTP packet, encrypted and authenticated for the phone. */
  protectRtp(packet: Buffer): Buffer | undefined {
    const headerLength = rtpHeaderLength(packet, 0);
    if (headerLength === undefined) return undefined;
    const ssrc = packet.readUInt32BE(8);
    const seq = packet.readUInt16BE(2);
    let state = this.sent.get(ssrc);
    if (!state) this.sent.set(ssrc, (state = { seq, roc: 0, highest: seq, window: 0n }));
    const roc = estimateRoc(state, seq);
    const index = roc * 0x10000 + seq;
    if (index > state.highest) accept(state, index, seq, roc);
    const protectedPacket = Buffer.allocUnsafe(packet.length + this.rtpTagLength);
    packet.copy(protectedPacket, 0, 0, headerLength);
    crypt(this.outRtp, ssrc, index, packet.subarray(headerLength)).copy(protectedPacket, headerLength);
    rtpTag(this.outRtp.authentication, protectedPacket.subarray(0, packet.length), roc, this.rtpTagLength).copy(protectedPacket, packet.length);
    return protectedPacket;
  }

  /** The phone's SRTCP packet as plain RTCP; undefined when short, forged, tampered with or replayed. */
  unprotectRtcp(packet: Buffer): Buffer | undefined {
    const trailer = SRTCP_INDEX_LENGTH + SRTCP_TAG_LENGTH;
    if (packet.length < RTCP_HEADER_LENGTH + trailer) return undefined;
    const end = packet.length - trailer;
    const authenticated = packet.subarray(0, end + SRTCP_INDEX_LENGTH);
    const tag = createHmac('sha1', this.inRtcp.authentication).update(authenticated).digest().subarray(0, SRTCP_TAG_LENGTH);
    if (!timingSafeEqual(tag, packet.subarray(end + SRTCP_INDEX_LENGTH))) return undefined;
    const word = packet.readUInt32BE(end);
    const index = word & 0x7fffffff;
    const ssrc = packet.readUInt32BE(4);
    const known = this.receivedRtcp.get(ssrc);
    if (known && isReplay(known, index)) return undefined;
    const state = known ?? { seq: 0, roc: 0, highest: index, window: 0n };
    this.receivedRtcp.set(ssrc, state);
    accept(state, index, 0, 0);
    const plain = Buffer.from(packet.subarray(0, end));
    if (word & SRTCP_ENCRYPTED) crypt(this.inRtcp, ssrc, index, packet.subarray(RTCP_HEADER_LENGTH, end)).copy(plain, RTCP_HEADER_LENGTH);
    return plain;
  }

  /** Our RTCP packet (compound), encrypted with the next SRTCP index and authenticated. */
  protectRtcp(packet: Buffer): Buffer | undefined {
    if (packet.length < RTCP_HEADER_LENGTH) return undefined;
    const index = this.rtcpIndex;
    this.rtcpIndex = (this.rtcpIndex + 1) & 0x7fffffff;
    const ssrc = packet.readUInt32BE(4);
    const out = Buffer.allocUnsafe(packet.length + SRTCP_INDEX_LENGTH + SRTCP_TAG_LENGTH);
    packet.copy(out, 0, 0, RTCP_HEADER_LENGTH);
    crypt(this.outRtcp, ssrc, index, packet.subarray(RTCP_HEADER_LENGTH)).copy(out, RTCP_HEADER_LENGTH);
    out.writeUInt32BE((SRTCP_ENCRYPTED | index) >>> 0, packet.length);
    const authenticated = out.subarray(0, packet.length + SRTCP_INDEX_LENGTH);
    createHmac('sha1', this.outRtcp.authentication).update(authenticated).digest().copy(out, authenticated.length, 0, SRTCP_TAG_LENGTH);
    return out;
  }
}

/** AES-128 in counter mode: the same operation encrypts and decrypts. */
export function crypt(keys: SessionKeys, ssrc: number, index: number, data: Buffer): Buffer {
  return createCipheriv('aes-128-ctr', keys.encryption, counterIv(keys.salt, ssrc, index)).update(data);
}

function rtpTag(authKey: Buffer, authenticated: Buffer, roc: number, length: number): Buffer {
  const rocBytes = Buffer.allocUnsafe(4);
  rocBytes.writeUInt32BE(roc >>> 0);
  return createHmac('sha1', authKey).update(authenticated).update(rocBytes).digest().subarray(0, length);
}

/** The RTP header's length (CSRCs and extension included), when the packet holds it and a tag. */
function rtpHeaderLength(packet: Buffer, tagLength: number): number | undefined {
  if (packet.length < 12 + tagLength || packet[0]! >> 6 !== 2) return undefined;
  let length = 12 + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) {
    if (packet.length < length + 4 + tagLength) return undefined;
    length += 4 + 4 * packet.readUInt16BE(length + 2);
  }
  return length <= packet.length - tagLength ? length : undefined;
}

/** RFC 3711 Appendix A: the rollover counter a sequence number most likely belongs to. */
function estimateRoc(state: StreamState, seq: number): number {
  if (state.seq < 0x8000) return seq - state.seq > 0x8000 ? state.roc - 1 : state.roc;
  return state.seq - 0x8000 > seq ? state.roc + 1 : state.roc;
}

function isReplay(state: StreamState, index: number): boolean {
  const behind = state.highest - index;
  if (behind < 0) return false;
  return behind >= REPLAY_WINDOW || ((state.window >> BigInt(behind)) & 1n) === 1n;
}

/** Records an authenticated packet: the window moves with a new highest index. */
function accept(state: StreamState, index: number, seq: number, roc: number): void {
  const ahead = index - state.highest;
  if (ahead > 0) {
    state.window = ahead >= REPLAY_WINDOW ? 1n : ((state.window << BigInt(ahead)) | 1n) & ((1n << BigInt(REPLAY_WINDOW)) - 1n);
    state.highest = index;
    state.seq = seq;
    state.roc = roc;
  } else {
    state.window |= 1n << BigInt(-ahead);
  }
}
