/**
 * The audio codecs a phone leg can use, matching what every meeting router carries
 * (src/media/codecs/router-codecs.ts), and DTMF as RFC 4733 telephone-events.
 */
export type CodecName = 'PCMU' | 'PCMA' | 'G722' | 'opus';
/** The RTP clocks our codecs run at; telephone-events must run at their codec's. */
export type RtpClockRate = 8000 | 48000;

export interface CodecSpec {
  /** Also the encoding name in a=rtpmap, where it compares case-insensitively. */
  readonly name: CodecName;
  readonly clockRate: RtpClockRate;
  /** The audio sample rate, which differs from the RTP clock for G.722. */
  readonly sampleRate: number;
  readonly channels: number;
  /** RFC 3551 static payload type; dynamic codecs have none. */
  readonly staticPayloadType?: number;
  /** The payload type we use when we make the offer. */
  readonly offerPayloadType: number;
}

export const CODECS: Readonly<Record<CodecName, CodecSpec>> = {
  PCMU: { name: 'PCMU', clockRate: 8000, sampleRate: 8000, channels: 1, staticPayloadType: 0, offerPayloadType: 0 },
  PCMA: { name: 'PCMA', clockRate: 8000, sampleRate: 8000, channels: 1, staticPayloadType: 8, offerPayloadType: 8 },
  // G.722's RTP clock is 8000 although it samples at 16 kHz (RFC 3551 §4.5.2).
  G722: { name: 'G722', clockRate: 8000, sampleRate: 16000, channels: 1, staticPayloadType: 9, offerPayloadType: 9 },
  // Always opus/48000/2 in SDP, whatever is actually sent (RFC 7587).
  opus: { name: 'opus', clockRate: 48000, sampleRate: 48000, channels: 2, offerPayloadType: 111 },
};

/**
 * Our order of preference among the codecs an offer contains. G.711 first: every phone
 * and carrier has it and it costs least to mix; configure G722 or opus first for wideband.
 */
export const DEFAULT_CODEC_PREFERENCE: readonly CodecName[] = ['PCMU', 'PCMA', 'G722', 'opus'];

export const TELEPHONE_EVENT = 'telephone-event';
/** Payload types for telephone-event in our own offers, by clock rate. */
export const TELEPHONE_EVENT_OFFER_PAYLOAD_TYPES: Readonly<Record<RtpClockRate, number>> = { 8000: 101, 48000: 110 };
/** DTMF digits 0-9, *, #, A-D, and flash (RFC 4733 §3.2). */
export const TELEPHONE_EVENTS = '0-16';
