/**
 * Turns SDP text from the network into checked, typed media descriptions. sdp-transform
 * parses leniently (unknown or damaged lines are skipped, numbers may come back as
 * strings), so every value we rely on is checked here and the rest of the SDP code can
 * trust its types. Anything unusable is an SdpError with status 400.
 */
import { isIPv4, isIPv6 } from 'node:net';
import sdpTransform from 'sdp-transform';
import type { RemoteCrypto } from './crypto-attribute.js';
import { SdpError } from './sdp-error.js';

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface RtpMap {
  /** Lowercase encoding name. */
  readonly encoding: string;
  readonly clockRate: number;
  readonly channels?: number;
}

export interface RemoteMediaLine {
  /** As written (audio, video, ...), like protocol, so a rejected line can be echoed as offered. */
  readonly type: string;
  /** 0: the stream is disabled (offer) or rejected (answer). */
  readonly port: number;
  readonly protocol: string;
  /** The m= line's format list, as written. */
  readonly formats: readonly string[];
  readonly rtpMaps: ReadonlyMap<number, RtpMap>;
  readonly fmtps: ReadonlyMap<number, string>;
  /** From the media level, else the session level. */
  readonly connectionIp?: string;
  /** From the media level, else the session level, else sendrecv (RFC 4566 §6). */
  readonly direction: MediaDirection;
  readonly ptime?: number;
  readonly rtcpMux: boolean;
  /** From a=rtcp (RFC 3605); the address it may carry is not used. */
  readonly rtcpPort?: number;
  /** SDES a=crypto lines (RFC 4568), in the order written. */
  readonly crypto: readonly RemoteCrypto[];
}

/** Big enough for any phone's SDP (a video phone's is ~2 KB), small enough to bound the work. */
export const MAX_SDP_BYTES = 16 * 1024;
export const MAX_MEDIA_LINES = 16;

export function readSdp(text: unknown): RemoteMediaLine[] {
  if (typeof text !== 'string') throw new SdpError('not-sdp', 'the body is not SDP text');
  if (Buffer.byteLength(text, 'utf8') > MAX_SDP_BYTES) throw new SdpError('too-large', `SDP is larger than ${MAX_SDP_BYTES} bytes`);
  // RFC 4566 §5 forbids NUL; other control characters have no place in a phone's SDP either.
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(text)) throw new SdpError('control-characters', 'SDP contains control characters');
  const session = parse(text);
  if (session.version !== 0) throw new SdpError('not-sdp', 'SDP has no v=0 line');
  if (session.media.length === 0) throw new SdpError('no-media', 'SDP has no m= line');
  if (session.media.length > MAX_MEDIA_LINES) throw new SdpError('too-many-media', `SDP has more than ${MAX_MEDIA_LINES} m= lines`);
  const defaults = { ip: connectionIp(session.connection), direction: session.direction ?? 'sendrecv' } as const;
  return session.media.map((m, i) => readMediaLine(m, i, defaults));
}

function parse(text: string): sdpTransform.SessionDescription {
  try {
    return sdpTransform.parse(text);
  } catch {
    // sdp-transform is lenient and not known to throw, but no input may escape untyped.
    throw new SdpError('not-sdp', 'SDP could not be parsed');
  }
}

interface SessionDefaults {
  readonly ip: string | undefined;
  readonly direction: MediaDirection;
}

function readMediaLine(m: sdpTransform.MediaDescription, index: number, session: SessionDefaults): RemoteMediaLine {
  const where = `m= line ${index + 1}`;
  if (typeof m.type !== 'string' || m.type === '' || typeof m.protocol !== 'string' || m.protocol === '') {
    throw new SdpError('bad-media-line', `${where} is not "m=<media> <port> <proto> <fmt> ..."`);
  }
  const port = m.port;
  if (!isPort(port, 0)) throw new SdpError('bad-port', `${where} has port ${String(port).slice(0, 12)}; expected 0 to 65535`);
  // A single format comes back from sdp-transform as a number.
  const payloads: unknown = m.payloads;
  const formatList = typeof payloads === 'string' || typeof payloads === 'number' ? String(payloads) : '';
  const formats = formatList.split(' ').filter((f) => f !== '');
  if (formats.length === 0) throw new SdpError('bad-media-line', `${where} lists no formats`);
  const rtcpPort = m.rtcp?.port;
  if (m.rtcp && !isPort(rtcpPort, 1)) throw new SdpError('bad-port', `${where} has an a=rtcp port outside 1 to 65535`);
  return {
    type: m.type,
    port,
    protocol: m.protocol,
    formats,
    rtpMaps: rtpMaps(m.rtp),
    fmtps: fmtps(m.fmtp),
    connectionIp: connectionIp(m.connection) ?? session.ip,
    direction: m.direction ?? session.direction,
    ptime: number(m.ptime),
    rtcpMux: m.rtcpMux === 'rtcp-mux',
    rtcpPort,
    crypto: cryptoLines(m.crypto),
  };
}

/** Lines whose tag is not a number of 1 to 9 digits (RFC 4568 §9.1) are skipped. */
function cryptoLines(entries: sdpTransform.MediaAttributes['crypto'] | undefined): RemoteCrypto[] {
  const lines: RemoteCrypto[] = [];
  for (const { id, suite, config, sessionConfig } of entries ?? []) {
    if (!Number.isInteger(id) || id < 0 || id > 999_999_999 || typeof suite !== 'string' || typeof config !== 'string') continue;
    lines.push({ tag: id, suite, keyParams: config, ...(typeof sessionConfig === 'string' && { sessionParams: sessionConfig }) });
  }
  return lines;
}

function connectionIp(connection: sdpTransform.SharedDescriptionFields['connection']): string | undefined {
  if (connection === undefined) return undefined;
  const { version, ip } = connection;
  const valid = typeof ip === 'string' && (version === 4 ? isIPv4(ip) : version === 6 && isIPv6(ip));
  if (!valid) throw new SdpError('bad-connection', `c= must be "IN IP4 <IPv4 address>" or "IN IP6 <IPv6 address>"`);
  return ip;
}

/** First a=rtpmap per payload type wins; lines we cannot read are skipped (they match no codec). */
function rtpMaps(entries: sdpTransform.MediaAttributes['rtp'] | undefined): Map<number, RtpMap> {
  const maps = new Map<number, RtpMap>();
  for (const { payload, codec, rate, encoding } of entries ?? []) {
    const channels = encoding === undefined ? undefined : number(encoding);
    const clockRate = number(rate);
    if (!isPayloadType(payload) || maps.has(payload) || typeof codec !== 'string' || clockRate === undefined) continue;
    if (encoding !== undefined && channels === undefined) continue;
    maps.set(payload, { encoding: codec.toLowerCase(), clockRate, ...(channels === undefined ? {} : { channels }) });
  }
  return maps;
}

function fmtps(entries: sdpTransform.MediaAttributes['fmtp'] | undefined): Map<number, string> {
  const map = new Map<number, string>();
  for (const { payload, config } of entries ?? []) {
    // "a=fmtp:101 15" comes back with a number for config.
    const text: unknown = config;
    if (isPayloadType(payload) && (typeof text === 'string' || typeof text === 'number') && !map.has(payload)) {
      map.set(payload, String(text));
    }
  }
  return map;
}

/** RTP payload types are 7 bits (RFC 3550 §5.1). */
export function isPayloadType(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 127;
}

function isPort(value: unknown, min: number): value is number {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= 65535;
}

/** sdp-transform leaves values that are not plain numbers as strings. */
function number(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
