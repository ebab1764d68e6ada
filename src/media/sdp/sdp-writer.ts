/**
 * Writes our SDP (offer or answer): one session-level c= with our address, an audio
 * line, and in answers the offer's other m= lines rejected with port 0, keeping their
 * order and count as RFC 3264 §6 requires.
 */
import { randomInt } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { type CodecSpec, TELEPHONE_EVENT } from './codecs.js';
import { type CryptoLine, PLAIN_PROFILE, cryptoAttribute } from './crypto-attribute.js';
import type { MediaDirection } from './sdp-reader.js';

/** o= line identity. A re-INVITE's SDP keeps sessionId and adds one to sessionVersion (RFC 3264 §8). */
export interface SdpOrigin {
  readonly sessionId: string;
  readonly sessionVersion: number;
}

export interface LocalFormat {
  readonly payloadType: number;
  /** As written in a=rtpmap: PCMU, G722, opus, telephone-event... */
  readonly encoding: string;
  readonly clockRate: number;
  readonly channels?: number;
  readonly fmtp?: string;
}

export interface LocalAudioLine {
  readonly kind: 'audio';
  readonly port: number;
  readonly formats: readonly LocalFormat[];
  readonly ptime: number;
  readonly direction: MediaDirection;
  readonly rtcpMux: boolean;
  /** Written as a=rtcp when RTCP is not muxed. */
  readonly rtcpPort?: number;
  /** RTP/AVP when absent; RTP/SAVP for SRTP, or RTP/AVP with crypto when the phone offered so. */
  readonly profile?: string;
  /** Our SDES keys: one line in an answer, one per suite in an offer. */
  readonly crypto?: readonly CryptoLine[];
}

export interface RejectedLine {
  readonly kind: 'rejected';
  readonly type: string;
  readonly protocol: string;
  readonly formats: readonly string[];
}

/** One of our codecs; the channel count is written for opus only (opus/48000/2). */
export function codecFormat(payloadType: number, codec: CodecSpec, fmtp: string | undefined): LocalFormat {
  return { payloadType, encoding: codec.name, clockRate: codec.clockRate, ...(codec.channels > 1 && { channels: codec.channels }), fmtp };
}

export function telephoneEventFormat(payloadType: number, clockRate: number, events: string): LocalFormat {
  return { payloadType, encoding: TELEPHONE_EVENT, clockRate, fmtp: events };
}

export function newOrigin(): SdpOrigin {
  return { sessionId: String(randomInt(1, 2 ** 47)), sessionVersion: 1 };
}

/**
 * Written directly, in the line and attribute order sdp-transform's writer uses (the tests
 * read it back with sdp-transform): every call answers or offers once, and the generic
 * writer cost more than the rest of the negotiation.
 */
export function writeSdp(origin: SdpOrigin, ip: string, lines: readonly (LocalAudioLine | RejectedLine)[]): string {
  const address = `IN IP${isIPv6(ip) ? 6 : 4} ${ip}`;
  let sdp = `v=0\r\no=- ${origin.sessionId} ${origin.sessionVersion} ${address}\r\ns=-\r\nc=${address}\r\nt=0 0\r\n`;
  for (const line of lines) sdp += line.kind === 'rejected' ? `m=${line.type} 0 ${line.protocol} ${line.formats.join(' ')}\r\n` : audioSection(line);
  return sdp;
}

function audioSection(line: LocalAudioLine): string {
  let text = `m=audio ${line.port} ${line.profile ?? PLAIN_PROFILE} ${line.formats.map((f) => f.payloadType).join(' ')}\r\n`;
  for (const f of line.formats) text += `a=rtpmap:${f.payloadType} ${f.encoding}/${f.clockRate}${f.channels === undefined ? '' : `/${f.channels}`}\r\n`;
  for (const f of line.formats) if (f.fmtp !== undefined) text += `a=fmtp:${f.payloadType} ${f.fmtp}\r\n`;
  if (!line.rtcpMux && line.rtcpPort !== undefined) text += `a=rtcp:${line.rtcpPort}\r\n`;
  for (const crypto of line.crypto ?? []) text += cryptoAttribute(crypto);
  text += `a=ptime:${line.ptime}\r\na=${line.direction}\r\n`;
  return line.rtcpMux ? `${text}a=rtcp-mux\r\n` : text;
}
