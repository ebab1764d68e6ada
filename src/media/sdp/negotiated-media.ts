/**
 * What an offer/answer exchange settles for a phone leg, in the terms the media layer
 * needs to set up its PlainTransport: one codec, DTMF, where to send, and who sends.
 */
import type { SrtpKeys } from '../srtp/srtp-suites.js';
import type { CodecName, RtpClockRate } from './codecs.js';
import type { SrtpPolicy } from './crypto-attribute.js';
import { effectiveDirection, reverseDirection } from './media-direction.js';
import type { CodecFormat, TelephoneEventFormat } from './payload-formats.js';
import { SdpError } from './sdp-error.js';
import type { MediaDirection, RemoteMediaLine } from './sdp-reader.js';
import type { SdpOrigin } from './sdp-writer.js';

/** Our side of the media: the PlainTransport's address and ports, and our codec choices. */
export interface LocalMedia {
  /** The address phones send RTP to (ANNOUNCED_IP). */
  readonly ip: string;
  readonly port: number;
  /** The transport's separate RTCP port; leave out when it muxes RTCP onto the RTP port. */
  readonly rtcpPort?: number;
  /** Our codec order of preference; DEFAULT_CODEC_PREFERENCE when absent. */
  readonly preference?: readonly CodecName[];
  /** For a re-INVITE: the session's o= id with the version increased by one. New when absent. */
  readonly origin?: SdpOrigin;
  /** SIP_SRTP; off when absent. */
  readonly srtp?: SrtpPolicy;
  /**
   * Our SRTP master key||salt: kept for a call's re-INVITEs, so what we send goes on under
   * the same key and rollover counter. A new random one when absent.
   */
  readonly srtpKey?: Uint8Array;
}

export interface NegotiatedCodec {
  readonly name: CodecName;
  readonly payloadType: number;
  readonly clockRate: RtpClockRate;
  readonly sampleRate: number;
  readonly channels: number;
  /** opus: the phone's receive parameters (useinbandfec, maxaveragebitrate...); empty for the others. */
  readonly parameters: Readonly<Record<string, number>>;
}

/** RFC 4733 DTMF, at the codec's clock rate. */
export interface TelephoneEvent {
  readonly payloadType: number;
  readonly clockRate: RtpClockRate;
}

export interface RemoteEndpoint {
  /** 0.0.0.0 (or ::) when the phone is on hold the RFC 2543 way: send nothing there. */
  readonly ip: string;
  readonly port: number;
  /** RTCP shares the RTP port (RFC 5761). */
  readonly rtcpMux: boolean;
  /** Where RTCP goes when not muxed: a=rtcp, else the RTP port + 1 (RFC 3550 §11). */
  readonly rtcpPort?: number;
}

export interface NegotiatedMedia {
  readonly codec: NegotiatedCodec;
  readonly telephoneEvent?: TelephoneEvent;
  readonly remote: RemoteEndpoint;
  /** Our direction: sendrecv normally, recvonly while the phone holds, inactive while both hold. */
  readonly direction: MediaDirection;
  /** The phone's direction, reading c=0.0.0.0 as "receives nothing". */
  readonly remoteDirection: MediaDirection;
  /** Packet duration in ms. */
  readonly ptime: number;
  /** The call's SRTP keys (SDES); plain RTP when absent. */
  readonly srtp?: SrtpKeys;
}

export const DEFAULT_PTIME = 20;
// 10 ms is the least a phone sends; 120 ms the longest opus frame (RFC 6716).
const MIN_PTIME = 10;
const MAX_PTIME = 120;

/** The offered ptime when it is sensible, else the fallback. */
export function packetTime(offered: number | undefined, fallback: number): number {
  return offered !== undefined && Number.isInteger(offered) && offered >= MIN_PTIME && offered <= MAX_PTIME ? offered : fallback;
}

export function negotiatedCodec(format: CodecFormat, parameters: Readonly<Record<string, number>>): NegotiatedCodec {
  const { name, clockRate, sampleRate, channels } = format.codec;
  return { name, payloadType: format.payloadType, clockRate, sampleRate, channels, parameters };
}

export function negotiatedTelephoneEvent({ payloadType, clockRate }: TelephoneEventFormat): TelephoneEvent {
  return { payloadType, clockRate };
}

/** Where and how the phone takes media on its chosen audio line. */
export function remoteSide(
  line: RemoteMediaLine,
  rtcpMux: boolean,
): Pick<NegotiatedMedia, 'remote' | 'direction' | 'remoteDirection'> {
  const ip = line.connectionIp;
  if (ip === undefined) throw new SdpError('no-connection', 'the audio stream has no c= line, and neither has the session');
  const rtcpPort = rtcpMux ? undefined : (line.rtcpPort ?? (line.port < 65535 ? line.port + 1 : undefined));
  const remoteDirection = effectiveDirection(line.direction, ip);
  return {
    remote: { ip, port: line.port, rtcpMux, ...(rtcpPort === undefined ? {} : { rtcpPort }) },
    remoteDirection,
    direction: reverseDirection(remoteDirection),
  };
}
