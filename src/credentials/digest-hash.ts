/**
 * The digest arithmetic of RFC 7616 §3.4.1 as SIP uses it (RFC 3261 §22.4, RFC 8760):
 * HA1 = H(username:realm:password), HA2 = H(method:digest-uri),
 * response = H(HA1:nonce:nc:cnonce:qop:HA2). All values are lowercase hex over UTF-8.
 */
import { createHash } from 'node:crypto';

export type DigestAlgorithm = 'MD5' | 'SHA-256';

/** What we offer, most preferred first: RFC 8760 orders challenges by preference. */
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['SHA-256', 'MD5'];

const NODE_HASH: Record<DigestAlgorithm, string> = { MD5: 'md5', 'SHA-256': 'sha256' };

export function digestHash(algorithm: DigestAlgorithm, data: string): string {
  return createHash(NODE_HASH[algorithm]).update(data, 'utf8').digest('hex');
}

export function ha1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return digestHash(algorithm, `${username}:${realm}:${password}`);
}

/** The HA1 pair a SipCredential stores, so the password itself never is. */
export function hashCredential(username: string, realm: string, password: string): { ha1Md5: string; ha1Sha256: string } {
  return {
    ha1Md5: ha1('MD5', username, realm, password),
    ha1Sha256: ha1('SHA-256', username, realm, password),
  };
}

export interface ResponseInput {
  readonly algorithm: DigestAlgorithm;
  readonly ha1: string;
  readonly nonce: string;
  /** The nonce count exactly as the client sent it (8 hex digits): it is hashed as text. */
  readonly nc: string;
  readonly cnonce: string;
  readonly qop: 'auth';
  readonly method: string;
  readonly uri: string;
}

/** The request-digest for qop=auth: KD(HA1, nonce:nc:cnonce:qop:HA2). */
export function digestResponse(input: ResponseInput): string {
  const ha2 = digestHash(input.algorithm, `${input.method}:${input.uri}`);
  return digestHash(input.algorithm, `${input.ha1}:${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}`);
}
