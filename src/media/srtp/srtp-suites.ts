/**
 * The SDES crypto suites (RFC 4568 §6.2, RFC 7714 §14.2) we protect phone media with,
 * the ones mediasoup's libsrtp has too: AES counter mode with a 128-bit key and
 * HMAC-SHA1, the tag 80 or 32 bits on RTP (SRTCP always carries 80 bits, RFC 4568
 * §6.2.2), and AES-GCM with a 128- or 256-bit key and a 16-byte tag (RFC 7714).
 */
export const SRTP_SUITES = {
  AES_CM_128_HMAC_SHA1_80: { keyLength: 16, saltLength: 14, mode: 'cm', rtpTagLength: 10 },
  AES_CM_128_HMAC_SHA1_32: { keyLength: 16, saltLength: 14, mode: 'cm', rtpTagLength: 4 },
  AEAD_AES_128_GCM: { keyLength: 16, saltLength: 12, mode: 'gcm', rtpTagLength: 16 },
  AEAD_AES_256_GCM: { keyLength: 32, saltLength: 12, mode: 'gcm', rtpTagLength: 16 },
} as const;

export type SrtpSuite = keyof typeof SRTP_SUITES;

/** Our order of preference when we offer SRTP as required (RTP/SAVP): AEAD first (one pass, a 128-bit tag), then the longer HMAC tag. */
export const OFFERED_SUITES: readonly SrtpSuite[] = ['AEAD_AES_256_GCM', 'AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];

/**
 * What an optional offer (best-effort SRTP: a=crypto on RTP/AVP) carries: the one suite
 * every SDES implementation has (Twilio, Asterisk, FreeSWITCH, rtpengine, baresip, pjsip),
 * which is also the only one Twilio itself offers. The offer goes to peers that may know
 * no SRTP at all, so it carries as little they could stumble on as possible (see the
 * README's "SRTP for phones").
 */
export const OPTIONAL_OFFER_SUITES: readonly SrtpSuite[] = ['AES_CM_128_HMAC_SHA1_80'];

/** The key and salt as they travel in an a=crypto inline: parameter. */
export function masterKeyLength(suite: SrtpSuite): number {
  return SRTP_SUITES[suite].keyLength + SRTP_SUITES[suite].saltLength;
}

export function isSrtpSuite(name: string): name is SrtpSuite {
  return Object.hasOwn(SRTP_SUITES, name);
}

/**
 * One call's keys, both ways: the phone's master key||salt (what it sends with) and ours
 * (what we send with). Plain bytes, so they cross to the media thread as they are.
 */
export interface SrtpKeys {
  readonly suite: SrtpSuite;
  readonly localKey: Uint8Array;
  readonly remoteKey: Uint8Array;
}
