/**
 * Picks the stream and codec we answer with: the first active RTP/AVP audio m= line
 * that lists a codec we support, and on it the codec that comes first in OUR preference
 * order (not the offerer's), so every call from every phone lands on a predictable codec
 * the operator chose. DTMF comes along when offered at that codec's clock rate.
 */
import type { CodecName } from './codecs.js';
import { type CodecFormat, type TelephoneEventFormat, payloadFormats } from './payload-formats.js';
import { SdpError } from './sdp-error.js';
import type { RemoteMediaLine } from './sdp-reader.js';

export interface AudioSelection {
  /** Which m= line (from 0). */
  readonly index: number;
  readonly line: RemoteMediaLine;
  readonly codec: CodecFormat;
  readonly telephoneEvent?: TelephoneEventFormat;
}

export const RTP_PROFILE = 'RTP/AVP';

/** Throws SdpError 488 with the reason (and Warning) when nothing is usable. */
export function selectAudio(lines: readonly RemoteMediaLine[], preference: readonly CodecName[]): AudioSelection {
  let sawAudio = false;
  let sawRtpAudio = false;
  for (const [index, line] of lines.entries()) {
    if (line.type.toLowerCase() !== 'audio' || line.port === 0) continue;
    sawAudio = true;
    if (line.protocol.toUpperCase() !== RTP_PROFILE) continue;
    sawRtpAudio = true;
    const { codecs, telephoneEvents } = payloadFormats(line);
    const codec = preferred(codecs, preference);
    if (codec) {
      const telephoneEvent = telephoneEvents.find((event) => event.clockRate === codec.codec.clockRate);
      return { index, line, codec, ...(telephoneEvent && { telephoneEvent }) };
    }
  }
  if (sawRtpAudio) throw new SdpError('no-common-codec', `Incompatible media format: we support ${preference.join(', ')}`);
  if (sawAudio) throw new SdpError('unsupported-transport', `Incompatible transport protocol: we support ${RTP_PROFILE} only`);
  throw new SdpError('no-audio', 'Media type not available: we need an audio stream');
}

function preferred(codecs: readonly CodecFormat[], preference: readonly CodecName[]): CodecFormat | undefined {
  for (const name of preference) {
    const codec = codecs.find((format) => format.codec.name === name);
    if (codec) return codec;
  }
  return undefined;
}
