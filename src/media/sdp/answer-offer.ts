/**
 * Answers a phone's SDP offer (an INVITE or re-INVITE with a body) per RFC 3264. The
 * answer lists exactly one codec (plus telephone-event), with the offer's payload type
 * numbers, so the phone cannot switch codecs mid-call under a pipeline built for one.
 */
import { selectAudio } from './audio-selection.js';
import { DEFAULT_CODEC_PREFERENCE } from './codecs.js';
import { masterKey } from './crypto-attribute.js';
import { formatParameters, opusReceiveParameters, telephoneEventList } from './format-parameters.js';
import {
  DEFAULT_PTIME,
  type LocalMedia,
  type NegotiatedMedia,
  negotiatedCodec,
  negotiatedTelephoneEvent,
  packetTime,
  remoteSide,
} from './negotiated-media.js';
import { type RemoteMediaLine, readSdp } from './sdp-reader.js';
import {
  type LocalAudioLine,
  type RejectedLine,
  type SdpOrigin,
  codecFormat,
  newOrigin,
  telephoneEventFormat,
  writeSdp,
} from './sdp-writer.js';

export interface MediaAnswer extends NegotiatedMedia {
  readonly sdp: string;
  /** Keep it: a later SDP in this dialog must reuse sessionId with sessionVersion + 1. */
  readonly origin: SdpOrigin;
}

/** An offer checked and negotiated before our port is known: answer(port) writes the SDP. */
export interface PreparedAnswer extends NegotiatedMedia {
  readonly origin: SdpOrigin;
  answer(port: number): MediaAnswer;
}

/**
 * Throws SdpError: 400 for a broken or hostile offer, 488 (with warning()) when it
 * offers nothing we can use.
 */
export function answerOffer(offerSdp: string, local: LocalMedia): MediaAnswer {
  return prepareAnswer(offerSdp, local).answer(local.port);
}

/**
 * The same checks and choices as answerOffer, with the SDP written later: a call checks
 * the offer before it allocates media, then answers with the port it got, reading the
 * offer once.
 */
export function prepareAnswer(offerSdp: string, local: Omit<LocalMedia, 'port'>): PreparedAnswer {
  const lines = readSdp(offerSdp);
  const { index, line, codec, telephoneEvent, crypto } = selectAudio(lines, local.preference ?? DEFAULT_CODEC_PREFERENCE, local.srtp);
  const parameters = codec.codec.name === 'opus' ? opusReceiveParameters(codec.fmtp) : {};
  // We mux when the phone offers to, unless our transport was made with its own RTCP port.
  const rtcpMux = line.rtcpMux && local.rtcpPort === undefined;
  const side = remoteSide(line, rtcpMux);
  const ptime = packetTime(line.ptime, DEFAULT_PTIME);
  const formats = [
    codecFormat(codec.payloadType, codec.codec, formatParameters(parameters)),
    ...(telephoneEvent ? [telephoneEventFormat(telephoneEvent.payloadType, telephoneEvent.clockRate, telephoneEventList(telephoneEvent.fmtp))] : []),
  ];
  const origin = local.origin ?? newOrigin();
  // We answer the phone's crypto line with its tag and suite, and our own key (RFC 4568 §7.1.2).
  const srtp = crypto && { suite: crypto.suite, localKey: masterKey(crypto.suite, local.srtpKey), remoteKey: crypto.key };
  const negotiated: NegotiatedMedia & { readonly origin: SdpOrigin } = {
    origin,
    codec: negotiatedCodec(codec, parameters),
    ...(telephoneEvent && { telephoneEvent: negotiatedTelephoneEvent(telephoneEvent) }),
    ...side,
    ptime,
    ...(srtp && { srtp }),
  };
  return {
    ...negotiated,
    answer: (port) => {
      const audio: LocalAudioLine = {
        kind: 'audio',
        port,
        formats,
        ptime,
        direction: side.direction,
        rtcpMux,
        ...(local.rtcpPort !== undefined && { rtcpPort: local.rtcpPort }),
        // The offer's profile: RTP/SAVP, or RTP/AVP for a phone that offers SDES on it.
        profile: line.protocol.toUpperCase(),
        ...(crypto && srtp && { crypto: [{ tag: crypto.tag, suite: crypto.suite, key: srtp.localKey }] }),
      };
      return { ...negotiated, sdp: writeSdp(origin, local.ip, lines.map((other, i) => (i === index ? audio : rejected(other)))) };
    },
  };
}

/** Every m= line but the one we answer stays, with port 0 (RFC 3264 §6). */
function rejected(line: RemoteMediaLine): RejectedLine {
  return { kind: 'rejected', type: line.type, protocol: line.protocol, formats: line.formats };
}
