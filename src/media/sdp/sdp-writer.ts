/**
 * Writes our SDP (offer or answer): one session-level c= with our address, an audio
 * line, and in answers the offer's other m= lines rejected with port 0, keeping their
 * order and count as RFC 3264 §6 requires.
 */
import { randomInt } from 'node:crypto';
import { isIPv6 } from 'node:net';
import sdpTransform from 'sdp-transform';
import { type CodecSpec, TELEPHONE_EVENT } from './codecs.js';
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

export function writeSdp(origin: SdpOrigin, ip: string, lines: readonly (LocalAudioLine | RejectedLine)[]): string {
  const ipVer = isIPv6(ip) ? 6 : 4;
  return sdpTransform.write({
    version: 0,
    origin: { username: '-', sessionId: origin.sessionId, sessionVersion: origin.sessionVersion, netType: 'IN', ipVer, address: ip },
    name: '-',
    connection: { version: ipVer, ip },
    timing: { start: 0, stop: 0 },
    media: lines.map(mediaDescription),
  });
}

function mediaDescription(line: LocalAudioLine | RejectedLine): sdpTransform.MediaDescription {
  if (line.kind === 'rejected') {
    return { type: line.type, port: 0, protocol: line.protocol, payloads: line.formats.join(' '), rtp: [], fmtp: [] };
  }
  return {
    type: 'audio',
    port: line.port,
    protocol: 'RTP/AVP',
    payloads: line.formats.map((f) => f.payloadType).join(' '),
    rtp: line.formats.map((f) => ({
      payload: f.payloadType,
      codec: f.encoding,
      rate: f.clockRate,
      ...(f.channels === undefined ? {} : { encoding: f.channels }),
    })),
    fmtp: line.formats.flatMap((f) => (f.fmtp === undefined ? [] : [{ payload: f.payloadType, config: f.fmtp }])),
    ptime: line.ptime,
    direction: line.direction,
    ...(line.rtcpMux ? { rtcpMux: 'rtcp-mux' as const } : line.rtcpPort === undefined ? {} : { rtcp: { port: line.rtcpPort } }),
  };
}
