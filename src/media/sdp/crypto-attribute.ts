/**
 * SDES (RFC 4568): the a=crypto lines of an offer or answer, and ours. We take a line
 * whose suite we implement, with one inline key of the suite's length (key and salt), no MKI
 * (our packets carry none) and no session parameters (KDR, UNENCRYPTED_SRTP...: each
 * would change the protection we apply). Keys are secrets: they live in the SDP and in
 * the call's media only, never in a log.
 */
import { randomBytes } from 'node:crypto';
import { type SrtpSuite, isSrtpSuite, masterKeyLength } from '../srtp/srtp-suites.js';

/** SIP_SRTP: never, when the phone offers it (the default), or refuse calls without it. */
export const SRTP_POLICIES = ['off', 'optional', 'required'] as const;
export type SrtpPolicy = (typeof SRTP_POLICIES)[number];

export const PLAIN_PROFILE = 'RTP/AVP';
export const SECURE_PROFILE = 'RTP/SAVP';

/** An a=crypto line as read from SDP, before we know whether we can use it. */
export interface RemoteCrypto {
  readonly tag: number;
  readonly suite: string;
  readonly keyParams: string;
  readonly sessionParams?: string;
}

/** A usable a=crypto line: its tag, suite and the master key||salt. */
export interface CryptoLine {
  readonly tag: number;
  readonly suite: SrtpSuite;
  readonly key: Uint8Array;
}

// base64, padded or not, and an optional lifetime.
const INLINE_KEY = /^inline:([A-Za-z0-9+/]{1,80}={0,2})(?:\|(?:2\^\d{1,2}|\d{1,20}))?$/;

/** The first line we can use, in the offerer's order of preference (RFC 4568 §7.1.1). */
export function usableCrypto(lines: readonly RemoteCrypto[]): CryptoLine | undefined {
  for (const line of lines) {
    const crypto = readCrypto(line);
    if (crypto) return crypto;
  }
  return undefined;
}

export function readCrypto({ tag, suite, keyParams, sessionParams }: RemoteCrypto): CryptoLine | undefined {
  if (!isSrtpSuite(suite) || sessionParams !== undefined) return undefined;
  const match = INLINE_KEY.exec(keyParams);
  if (!match) return undefined;
  const key = Buffer.from(match[1]!, 'base64');
  return key.length === masterKeyLength(suite) ? { tag, suite, key } : undefined;
}

/** A new master key||salt for one call; `kept` instead when it has the suite's length (a re-INVITE's). */
export function masterKey(suite: SrtpSuite, kept?: Uint8Array): Uint8Array {
  return kept?.length === masterKeyLength(suite) ? kept : randomBytes(masterKeyLength(suite));
}

export function cryptoAttribute({ tag, suite, key }: CryptoLine): string {
  return `a=crypto:${tag} ${suite} inline:${Buffer.from(key).toString('base64')}\r\n`;
}
