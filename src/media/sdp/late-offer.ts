/**
 * Late offer (RFC 3261 §13.2.1, RFC 3264): an INVITE without SDP. We offer in our 200 OK
 * and the phone answers in its ACK. The offer lists every codec we accept in our order
 * of preference; the answer must pick from it, reusing our payload type numbers.
 */
import { OFFERED_SUITES, OPTIONAL_OFFER_SUITES } from '../srtp/srtp-suites.js';
import { CODECS, DEFAULT_CODEC_PREFERENCE, TELEPHONE_EVENT_OFFER_PAYLOAD_TYPES, TELEPHONE_EVENTS } from './codecs.js';
import { type CryptoLine, PLAIN_PROFILE, SECURE_PROFILE, type SrtpPolicy, masterKey, readCrypto } from './crypto-attribute.js';
import { opusReceiveParameters } from './format-parameters.js';
import {
  DEFAULT_PTIME,
  type LocalMedia,
  type NegotiatedMedia,
  negotiatedCodec,
  negotiatedTelephoneEvent,
  packetTime,
  remoteSide,
} from './negotiated-media.js';
import { type CodecFormat, type TelephoneEventFormat, payloadFormats } from './payload-formats.js';
import { SdpError } from './sdp-error.js';
import { type RemoteMediaLine, readSdp } from './sdp-reader.js';
import { type SdpOrigin, codecFormat, newOrigin, telephoneEventFormat, writeSdp } from './sdp-writer.js';

/** Our offer, and what acceptAnswer needs to check the answer against it. */
export interface LocalOffer {
  readonly sdp: string;
  readonly origin: SdpOrigin;
  readonly codecs: readonly CodecFormat[];
  readonly telephoneEvents: readonly TelephoneEventFormat[];
  readonly rtcpMux: boolean;
  /** RTP/SAVP when SRTP is required, else RTP/AVP (with a=crypto unless SRTP is off). */
  readonly profile: string;
  readonly srtp: SrtpPolicy;
  /** Our SDES lines, one per suite offered with a key of its own: the answer picks one by its tag. */
  readonly crypto: readonly CryptoLine[];
}

const OPUS_OFFER_FMTP = 'minptime=10;useinbandfec=1';

export function createOffer(local: LocalMedia): LocalOffer {
  // A name listed twice would put one payload type on the m= line twice.
  const preference = [...new Set(local.preference ?? DEFAULT_CODEC_PREFERENCE)];
  if (preference.length === 0) throw new RangeError('createOffer needs at least one codec');
  const codecs: CodecFormat[] = preference.map((name) => ({
    payloadType: CODECS[name].offerPayloadType,
    codec: CODECS[name],
    ...(name === 'opus' && { fmtp: OPUS_OFFER_FMTP }),
  }));
  const clockRates = [...new Set(codecs.map((format) => format.codec.clockRate))];
  const telephoneEvents: TelephoneEventFormat[] = clockRates.map((clockRate) => ({
    payloadType: TELEPHONE_EVENT_OFFER_PAYLOAD_TYPES[clockRate],
    clockRate,
  }));
  const rtcpMux = local.rtcpPort === undefined;
  const formats = [
    ...codecs.map(({ payloadType, codec, fmtp }) => codecFormat(payloadType, codec, fmtp)),
    ...telephoneEvents.map(({ payloadType, clockRate }) => telephoneEventFormat(payloadType, clockRate, TELEPHONE_EVENTS)),
  ];
  const origin = local.origin ?? newOrigin();
  const srtp = local.srtp ?? 'off';
  const suites = srtp === 'off' ? [] : srtp === 'required' ? OFFERED_SUITES : OPTIONAL_OFFER_SUITES;
  const crypto = suites.map((suite, i) => ({ tag: i + 1, suite, key: masterKey(suite) }));
  // Optional SRTP is offered on RTP/AVP, which a phone without SDES answers with plain RTP.
  const profile = srtp === 'required' ? SECURE_PROFILE : PLAIN_PROFILE;
  const sdp = writeSdp(origin, local.ip, [
    {
      kind: 'audio',
      port: local.port,
      formats,
      ptime: DEFAULT_PTIME,
      direction: 'sendrecv',
      rtcpMux,
      ...(local.rtcpPort !== undefined && { rtcpPort: local.rtcpPort }),
      profile,
      crypto,
    },
  ]);
  return { sdp, origin, codecs, telephoneEvents, rtcpMux, profile, srtp, crypto };
}

/**
 * Reads the phone's answer to our offer. Throws SdpError: 400 when it is broken or does
 * not answer our offer (RFC 3264 §6), 488 when it rejects audio or picks no codec of ours.
 */
export function acceptAnswer(offer: LocalOffer, answerSdp: string): NegotiatedMedia {
  const lines = readSdp(answerSdp);
  const [line] = lines;
  if (line === undefined || lines.length !== 1) {
    throw new SdpError('answer-mismatch', `the answer has ${lines.length} m= lines; our offer had 1`);
  }
  if (line.type.toLowerCase() !== 'audio' || line.protocol.toUpperCase() !== offer.profile) {
    throw new SdpError('answer-mismatch', `the answer's m= line is not audio over ${offer.profile} as offered`);
  }
  if (line.port === 0) throw new SdpError('no-audio', 'Media type not available: the answer rejected the audio stream');
  const srtp = answeredKeys(offer, line.crypto);

  const answered = payloadFormats(line);
  // The answer's first codec of ours is the one the phone will send (RFC 3264 §6.1). We
  // do not follow an answer that renumbers our payload types.
  const codec = answered.codecs.find((a) => offer.codecs.some((o) => o.payloadType === a.payloadType && o.codec.name === a.codec.name));
  if (!codec) {
    const names = offer.codecs.map((format) => format.codec.name).join(', ');
    throw new SdpError('no-common-codec', `Incompatible media format: we offered ${names}`);
  }
  const telephoneEvent = answered.telephoneEvents.find(
    (a) =>
      a.clockRate === codec.codec.clockRate &&
      offer.telephoneEvents.some((o) => o.payloadType === a.payloadType && o.clockRate === a.clockRate),
  );
  const parameters = codec.codec.name === 'opus' ? opusReceiveParameters(codec.fmtp) : {};
  return {
    codec: negotiatedCodec(codec, parameters),
    ...(telephoneEvent && { telephoneEvent: negotiatedTelephoneEvent(telephoneEvent) }),
    ...remoteSide(line, offer.rtcpMux && line.rtcpMux),
    ptime: packetTime(line.ptime, DEFAULT_PTIME),
    ...(srtp && { srtp }),
  };
}

/** The SRTP keys of the answer's a=crypto line, which must be one of ours by tag and suite. */
function answeredKeys(offer: LocalOffer, lines: RemoteMediaLine['crypto']): NegotiatedMedia['srtp'] {
  if (offer.srtp === 'off') return undefined;
  const [answered] = lines;
  const theirs = answered && readCrypto(answered);
  const ours = theirs && offer.crypto.find((line) => line.tag === theirs.tag && line.suite === theirs.suite);
  if (answered && !ours) throw new SdpError('answer-mismatch', 'the answer\'s a=crypto does not answer one of ours');
  if (!theirs || !ours) {
    if (offer.srtp === 'required') throw new SdpError('srtp-required', `Incompatible transport protocol: SRTP required (a=crypto with one of ${OFFERED_SUITES.join(', ')})`);
    return undefined;
  }
  return { suite: ours.suite, localKey: ours.key, remoteKey: theirs.key };
}
