/**
 * The SDES crypto suites (RFC 4568 §6.2) we protect phone media with: AES counter mode
 * with a 128-bit key and HMAC-SHA1, the tag 80 or 32 bits on RTP (SRTCP always carries
 * 80 bits, RFC 4568 §6.2.2). Their master key is 16 bytes and the master salt 14.
 */
export const SRTP_SUITES = {
  AES_CM_128_HMAC_SHA1_80: { rtpTagLength: 10 },
  AES_CM_128_HMAC_SHA1_32: { rtpTagLength: 4 },
} as const;

export type SrtpSuite = keyof typeof SRTP_SUITES;

/** Our order of preference when we offer: the longer tag first. */
export const OFFERED_SUITES: readonly SrtpSuite[] = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];

export const MASTER_KEY_LENGTH = 16;
export const MASTER_SALT_LENGTH = 14;
/** The key and salt as they travel in an a=crypto inline: parameter. */
export const MASTER_KEY_SALT_LENGTH = MASTER_KEY_LENGTH + MASTER_SALT_LENGTH;
export const SRTCP_TAG_LENGTH = 10;

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
