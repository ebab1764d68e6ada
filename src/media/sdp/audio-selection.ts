/**
 * Picks the stream and codec we answer with: the first active audio m= line we can take
 * that lists a codec we support, and on it the codec that comes first in OUR preference
 * order (not the offerer's), so every call from every phone lands on a predictable codec
 * the operator chose. DTMF comes along when offered at that codec's clock rate.
 * SRTP (SIP_SRTP): with `off` only RTP/AVP lines count and a=crypto is ignored; with
 * `optional` a line with a usable a=crypto is answered with SRTP, on RTP/SAVP or on the
 * RTP/AVP some phones offer it on, and a plain line with plain RTP; with `required` only
 * lines with a usable a=crypto count.
 */
import type { CodecName } from './codecs.js';
import { type CryptoLine, PLAIN_PROFILE, SECURE_PROFILE, type SrtpPolicy, usableCrypto } from './crypto-attribute.js';
import { type CodecFormat, type TelephoneEventFormat, payloadFormats } from './payload-formats.js';
import { SdpError } from './sdp-error.js';
import type { RemoteMediaLine } from './sdp-reader.js';
import { OFFERED_SUITES } from '../srtp/srtp-suites.js';

export interface AudioSelection {
  /** Which m= line (from 0). */
  readonly index: number;
  readonly line: RemoteMediaLine;
  readonly codec: CodecFormat;
  readonly telephoneEvent?: TelephoneEventFormat;
  /** The phone's SDES line we answer, when the call is SRTP. */
  readonly crypto?: CryptoLine;
}

/** Throws SdpError 488 with the reason (and Warning) when nothing is usable. */
export function selectAudio(lines: readonly RemoteMediaLine[], preference: readonly CodecName[], srtp: SrtpPolicy = 'off'): AudioSelection {
  let sawAudio = false;
  let sawPlainAudio = false;
  let sawRtpAudio = false;
  for (const [index, line] of lines.entries()) {
    if (line.type.toLowerCase() !== 'audio' || line.port === 0) continue;
    sawAudio = true;
    const profile = line.protocol.toUpperCase();
    if (profile !== PLAIN_PROFILE && profile !== SECURE_PROFILE) continue;
    const crypto = srtp === 'off' ? undefined : usableCrypto(line.crypto);
    if (!crypto && (profile === SECURE_PROFILE || srtp === 'required')) {
      sawPlainAudio ||= profile === PLAIN_PROFILE;
      continue;
    }
    sawRtpAudio = true;
    const { codecs, telephoneEvents } = payloadFormats(line);
    const codec = preferred(codecs, preference);
    if (codec) {
      const telephoneEvent = telephoneEvents.find((event) => event.clockRate === codec.codec.clockRate);
      return { index, line, codec, ...(telephoneEvent && { telephoneEvent }), ...(crypto && { crypto }) };
    }
  }
  if (sawRtpAudio) throw new SdpError('no-common-codec', `Incompatible media format: we support ${preference.join(', ')}`);
  if (sawPlainAudio) throw new SdpError('srtp-required', `Incompatible transport protocol: SRTP required (a=crypto with one of ${OFFERED_SUITES.join(', ')})`);
  if (sawAudio) throw new SdpError('unsupported-transport', `Incompatible transport protocol: we support ${supportedTransports(srtp)}`);
  throw new SdpError('no-audio', 'Media type not available: we need an audio stream');
}

function supportedTransports(srtp: SrtpPolicy): string {
  const secure = `${SECURE_PROFILE} with a=crypto (${OFFERED_SUITES.join(', ')})`;
  if (srtp === 'off') return `${PLAIN_PROFILE} only`;
  return srtp === 'required' ? secure : `${PLAIN_PROFILE}, or ${secure}`;
}

function preferred(codecs: readonly CodecFormat[], preference: readonly CodecName[]): CodecFormat | undefined {
  for (const name of preference) {
    const codec = codecs.find((format) => format.codec.name === name);
    if (codec) return codec;
  }
  return undefined;
}
