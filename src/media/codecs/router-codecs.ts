import type { types } from 'mediasoup';

/**
 * The codecs every meeting router offers. Browsers speak opus; phones mostly G.711 or
 * G.722. Having all of them in the router lets a phone's audio reach browsers as-is.
 */
export const ROUTER_CODECS: types.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'audio', mimeType: 'audio/PCMU', clockRate: 8000, preferredPayloadType: 0 },
  { kind: 'audio', mimeType: 'audio/PCMA', clockRate: 8000, preferredPayloadType: 8 },
  // G.722's RTP clock is 8000 although it samples at 16 kHz (RFC 3551 4.5.2).
  { kind: 'audio', mimeType: 'audio/G722', clockRate: 8000, preferredPayloadType: 9 },
];
