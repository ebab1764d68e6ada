/**
 * Which formats of an RTP/AVP media line are codecs we support or telephone-events,
 * keeping the line's order and payload type numbers. A format is identified by its
 * a=rtpmap, or by RFC 3551's static table when it has none (0 PCMU, 8 PCMA, 9 G722).
 */
import { CODECS, type CodecSpec, type RtpClockRate, TELEPHONE_EVENT } from './codecs.js';
import { SdpError } from './sdp-error.js';
import { type RemoteMediaLine, type RtpMap, isPayloadType } from './sdp-reader.js';

export interface CodecFormat {
  readonly payloadType: number;
  readonly codec: CodecSpec;
  /** The a=fmtp text for this payload type, as written. */
  readonly fmtp?: string;
}

export interface TelephoneEventFormat {
  readonly payloadType: number;
  readonly clockRate: RtpClockRate;
  readonly fmtp?: string;
}

export interface PayloadFormats {
  readonly codecs: readonly CodecFormat[];
  readonly telephoneEvents: readonly TelephoneEventFormat[];
}

const STATIC_RTP_MAPS = new Map<number, RtpMap>(
  Object.values(CODECS).flatMap(({ name, clockRate, staticPayloadType }) =>
    staticPayloadType === undefined ? [] : [[staticPayloadType, { encoding: name.toLowerCase(), clockRate }]],
  ),
);

/** Throws SdpError (400) when a format is not an RTP payload type number. */
export function payloadFormats(line: RemoteMediaLine): PayloadFormats {
  const codecs: CodecFormat[] = [];
  const telephoneEvents: TelephoneEventFormat[] = [];
  for (const format of line.formats) {
    const payloadType = Number(format);
    if (!/^\d{1,3}$/.test(format) || !isPayloadType(payloadType)) {
      throw new SdpError('bad-payload-type', `m=${line.type} lists a format that is not a payload type from 0 to 127`);
    }
    const rtpMap = line.rtpMaps.get(payloadType) ?? STATIC_RTP_MAPS.get(payloadType);
    if (!rtpMap) continue;
    const fmtp = line.fmtps.get(payloadType);
    const codec = codecFor(rtpMap);
    if (codec) codecs.push({ payloadType, codec, fmtp });
    else if (rtpMap.encoding === TELEPHONE_EVENT && isClockRate(rtpMap.clockRate)) {
      telephoneEvents.push({ payloadType, clockRate: rtpMap.clockRate, fmtp });
    }
  }
  return { codecs, telephoneEvents };
}

function codecFor({ encoding, clockRate, channels }: RtpMap): CodecSpec | undefined {
  const codec = Object.values(CODECS).find((c) => c.name.toLowerCase() === encoding && c.clockRate === clockRate);
  // opus must say /2 (RFC 7587); some phones leave it out, which is harmless. Mono codecs may say /1.
  const channelsOk = channels === undefined || channels === codec?.channels;
  return codec && channelsOk ? codec : undefined;
}

function isClockRate(rate: number): rate is RtpClockRate {
  return rate === 8000 || rate === 48000;
}
