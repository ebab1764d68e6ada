/**
 * SRTP and SRTCP (RFC 3711, RFC 7714) for one call with SDES keys: what the phone sends
 * is authenticated, checked against replay and decrypted with its key; what we send is
 * encrypted and authenticated with ours. AES counter mode with HMAC-SHA1, or AES-GCM,
 * from node:crypto. The rollover counter of each SSRC is estimated as RFC 3711 Appendix A
 * does, and updated only by packets that authenticate.
 */
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { counterIv, gcmIv, type SessionKeys, sessionKeys } from './key-derivation.js';
import { SRTP_SUITES, type SrtpKeys } from './srtp-suites.js';

/** RFC 3711 §3.3.2: at least 64 packets. */
const REPLAY_WINDOW = 64;
const RTCP_HEADER_LENGTH = 8;
const SRTCP_INDEX_LENGTH = 4;
const SRTCP_ENCRYPTED = 0x80000000;
/** SRTCP's HMAC tag for the counter-mode suites, 80 bits whatever the RTP tag (RFC 4568 §6.2.2). */
const SRTCP_HMAC_TAG_LENGTH = 10;
const GCM_TAG_LENGTH = 16;

/** An SSRC's packets, one direction. */
interface StreamState {
  /** The highest sequence number and its rollover counter (s_l and ROC). */
  seq: number;
  roc: number;
  /** The highest index that authenticated, and which of the REPLAY_WINDOW below it came. */
  highest: number;
  window: bigint;
}

/**
 * One suite's packet transforms, with session keys given: `header` is authenticated and
 * left in the clear, `body` encrypted; the result is body's ciphertext and the tag (or
 * the plaintext, undefined when the tag does not verify).
 */
export interface PacketCipher {
  readonly rtpTagLength: number;
  readonly rtcpTagLength: number;
  sealRtp(keys: SessionKeys, header: Buffer, body: Buffer, ssrc: number, roc: number, index: number): { ciphertext: Buffer; tag: Buffer };
  openRtp(keys: SessionKeys, header: Buffer, body: Buffer, tag: Buffer, ssrc: number, roc: number, index: number): Buffer | undefined;
  /** `trailer` is SRTCP's E flag and index word. */
  sealRtcp(keys: SessionKeys, header: Buffer, body: Buffer, trailer: Buffer, ssrc: number, index: number): { ciphertext: Buffer; tag: Buffer };
  openRtcp(keys: SessionKeys, header: Buffer, body: Buffer, trailer: Buffer, tag: Buffer, ssrc: number, index: number): Buffer | undefined;
  /** Where the tag goes in SRTCP: HMAC after the index word (RFC 3711 §3.4), GCM's before it (RFC 7714 §9). */
  readonly rtcpTagBeforeIndex: boolean;
}

/** AES-CM with an HMAC-SHA1 tag of `rtpTagLength` bytes on RTP (RFC 3711 §4.1.1, §4.2). */
export function counterModeCipher(rtpTagLength: number): PacketCipher {
  const ctr = (keys: SessionKeys, ssrc: number, index: number, data: Buffer) =>
    createCipheriv(keys.encryption.length === 32 ? 'aes-256-ctr' : 'aes-128-ctr', keys.encryption, counterIv(keys.salt, ssrc, index)).update(data);
  const hmac = (keys: SessionKeys, length: number, ...parts: Buffer[]) => {
    const mac = createHmac('sha1', keys.authentication);
    for (const part of parts) mac.update(part);
    return mac.digest().subarray(0, length);
  };
  return {
    rtpTagLength,
    rtcpTagLength: SRTCP_HMAC_TAG_LENGTH,
    rtcpTagBeforeIndex: false,
    sealRtp(keys, header, body, ssrc, roc, index) {
      const ciphertext = ctr(keys, ssrc, index, body);
      return { ciphertext, tag: hmac(keys, rtpTagLength, header, ciphertext, rocBytes(roc)) };
    },
    openRtp(keys, header, body, tag, ssrc, roc, index) {
      if (!timingSafeEqual(hmac(keys, rtpTagLength, header, body, rocBytes(roc)), tag)) return undefined;
      return ctr(keys, ssrc, index, body);
    },
    sealRtcp(keys, header, body, trailer, ssrc, index) {
      const ciphertext = ctr(keys, ssrc, index, body);
      return { ciphertext, tag: hmac(keys, SRTCP_HMAC_TAG_LENGTH, header, ciphertext, trailer) };
    },
    openRtcp(keys, header, body, trailer, tag, ssrc, index) {
      if (!timingSafeEqual(hmac(keys, SRTCP_HMAC_TAG_LENGTH, header, body, trailer), tag)) return undefined;
      return trailer.readUInt32BE(0) & SRTCP_ENCRYPTED ? ctr(keys, ssrc, index, body) : Buffer.from(body);
    },
  };
}

/** AES-GCM (RFC 7714): the header (and SRTCP's index word) as associated data, a 16-byte tag. */
export const gcmCipher: PacketCipher = {
  rtpTagLength: GCM_TAG_LENGTH,
  rtcpTagLength: GCM_TAG_LENGTH,
  rtcpTagBeforeIndex: true,
  sealRtp: (keys, header, body, ssrc, _roc, index) => seal(keys, gcmIv(keys.salt, ssrc, index, false), [header], body),
  openRtp: (keys, header, body, tag, ssrc, _roc, index) => open(keys, gcmIv(keys.salt, ssrc, index, false), [header], body, tag),
  sealRtcp: (keys, header, body, trailer, ssrc, index) => seal(keys, gcmIv(keys.salt, ssrc, index, true), [header, trailer], body),
  openRtcp: (keys, header, body, trailer, tag, ssrc, index) =>
    // RFC 7714 §9.3: with E clear the payload is associated data only, authenticated in the clear.
    trailer.readUInt32BE(0) & SRTCP_ENCRYPTED
      ? open(keys, gcmIv(keys.salt, ssrc, index, true), [header, trailer], body, tag)
      : open(keys, gcmIv(keys.salt, ssrc, index, true), [header, body, trailer], Buffer.alloc(0), tag) && Buffer.from(body),
};

function gcmAlgorithm(keys: SessionKeys): 'aes-128-gcm' | 'aes-256-gcm' {
  return keys.encryption.length === 32 ? 'aes-256-gcm' : 'aes-128-gcm';
}

function seal(keys: SessionKeys, iv: Buffer, aad: Buffer[], body: Buffer): { ciphertext: Buffer; tag: Buffer } {
  const cipher = createCipheriv(gcmAlgorithm(keys), keys.encryption, iv, { authTagLength: GCM_TAG_LENGTH });
  cipher.setAAD(Buffer.concat(aad));
  const ciphertext = Buffer.concat([cipher.update(body), cipher.final()]);
  return { ciphertext, tag: cipher.getAuthTag() };
}

function open(keys: SessionKeys, iv: Buffer, aad: Buffer[], body: Buffer, tag: Buffer): Buffer | undefined {
  const decipher = createDecipheriv(gcmAlgorithm(keys), keys.encryption, iv, { authTagLength: GCM_TAG_LENGTH });
  decipher.setAAD(Buffer.concat(aad));
  decipher.setAuthTag(tag);
  const plain = decipher.update(body);
  try {
    return Buffer.concat([plain, decipher.final()]);
  } catch {
    return undefined;
  }
}

export class SrtpSession {
  private readonly cipher: PacketCipher;
  private readonly inRtp: SessionKeys;
  private readonly inRtcp: SessionKeys;
  private readonly outRtp: SessionKeys;
  private readonly outRtcp: SessionKeys;
  private readonly received = new Map<number, StreamState>();
  private readonly receivedRtcp = new Map<number, StreamState>();
  private readonly sent = new Map<number, StreamState>();
  /** The SRTCP index of our next report (31 bits). */
  private rtcpIndex = 0;

  /**
   * The session for `keys` from here on: this one when they are the same. When only the
   * phone's key changed (a re-INVITE with new keys), what we send goes on under our key with
   * its rollover counters and SRTCP index: starting them again would reuse keystream.
   */
  rekeyed(keys: SrtpKeys): SrtpSession {
    const ours = keys.suite === this.keys.suite && sameBytes(keys.localKey, this.keys.localKey);
    if (ours && sameBytes(keys.remoteKey, this.keys.remoteKey)) return this;
    const next = new SrtpSession(keys);
    if (ours) {
      for (const [ssrc, state] of this.sent) next.sent.set(ssrc, state);
      next.rtcpIndex = this.rtcpIndex;
    }
    return next;
  }

  constructor(readonly keys: SrtpKeys) {
    const suite = SRTP_SUITES[keys.suite];
    this.cipher = suite.mode === 'gcm' ? gcmCipher : counterModeCipher(suite.rtpTagLength);
    this.inRtp = sessionKeys(keys.suite, keys.remoteKey, false);
    this.inRtcp = sessionKeys(keys.suite, keys.remoteKey, true);
    this.outRtp = sessionKeys(keys.suite, keys.localKey, false);
    this.outRtcp = sessionKeys(keys.suite, keys.localKey, true);
  }

  /** The phone's SRTP packet as plain RTP; undefined when it is short, forged, tampered with or replayed. */
  unprotectRtp(packet: Buffer): Buffer | undefined {
    const tagLength = this.cipher.rtpTagLength;
    const headerLength = rtpHeaderLength(packet, tagLength);
    if (headerLength === undefined) return undefined;
    const end = packet.length - tagLength;
    const ssrc = packet.readUInt32BE(8);
    const seq = packet.readUInt16BE(2);
    const known = this.received.get(ssrc);
    const roc = known ? estimateRoc(known, seq) : 0;
    const index = roc * 0x10000 + seq;
    if (index < 0 || (known && isReplay(known, index))) return undefined;
    const header = packet.subarray(0, headerLength);
    const body = this.cipher.openRtp(this.inRtp, header, packet.subarray(headerLength, end), packet.subarray(end), ssrc, roc, index);
    if (!body) return undefined;
    const state = known ?? { seq, roc, highest: index, window: 0n };
    this.received.set(ssrc, state);
    accept(state, index, seq, roc);
    return Buffer.concat([header, body]);
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
    if (index < 0) return undefined;
    if (index > state.highest) accept(state, index, seq, roc);
    const header = packet.subarray(0, headerLength);
    const { ciphertext, tag } = this.cipher.sealRtp(this.outRtp, header, packet.subarray(headerLength), ssrc, roc, index);
    return Buffer.concat([header, ciphertext, tag]);
  }

  /** The phone's SRTCP packet as plain RTCP; undefined when short, forged, tampered with or replayed. */
  unprotectRtcp(packet: Buffer): Buffer | undefined {
    const { rtcpTagLength, rtcpTagBeforeIndex } = this.cipher;
    if (packet.length < RTCP_HEADER_LENGTH + SRTCP_INDEX_LENGTH + rtcpTagLength) return undefined;
    const end = packet.length - SRTCP_INDEX_LENGTH - rtcpTagLength;
    const trailerAt = rtcpTagBeforeIndex ? end + rtcpTagLength : end;
    const tagAt = rtcpTagBeforeIndex ? end : end + SRTCP_INDEX_LENGTH;
    const trailer = packet.subarray(trailerAt, trailerAt + SRTCP_INDEX_LENGTH);
    const index = trailer.readUInt32BE(0) & 0x7fffffff;
    const ssrc = packet.readUInt32BE(4);
    const known = this.receivedRtcp.get(ssrc);
    if (known && isReplay(known, index)) return undefined;
    const header = packet.subarray(0, RTCP_HEADER_LENGTH);
    const tag = packet.subarray(tagAt, tagAt + rtcpTagLength);
    const body = this.cipher.openRtcp(this.inRtcp, header, packet.subarray(RTCP_HEADER_LENGTH, end), trailer, tag, ssrc, index);
    if (!body) return undefined;
    const state = known ?? { seq: 0, roc: 0, highest: index, window: 0n };
    this.receivedRtcp.set(ssrc, state);
    accept(state, index, 0, 0);
    return Buffer.concat([header, body]);
  }

  /** Our RTCP packet (compound), encrypted with the next SRTCP index and authenticated. */
  protectRtcp(packet: Buffer): Buffer | undefined {
    if (packet.length < RTCP_HEADER_LENGTH) return undefined;
    const index = this.rtcpIndex;
    this.rtcpIndex = (this.rtcpIndex + 1) & 0x7fffffff;
    const trailer = Buffer.allocUnsafe(SRTCP_INDEX_LENGTH);
    trailer.writeUInt32BE((SRTCP_ENCRYPTED | index) >>> 0);
    const header = packet.subarray(0, RTCP_HEADER_LENGTH);
    const { ciphertext, tag } = this.cipher.sealRtcp(this.outRtcp, header, packet.subarray(RTCP_HEADER_LENGTH), trailer, packet.readUInt32BE(4), index);
    return Buffer.concat(this.cipher.rtcpTagBeforeIndex ? [header, ciphertext, tag, trailer] : [header, ciphertext, trailer, tag]);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

function rocBytes(roc: number): Buffer {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32BE(roc >>> 0);
  return bytes;
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
