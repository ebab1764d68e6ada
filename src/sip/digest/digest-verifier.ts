/**
 * Checks Digest credentials against a stored credential (RFC 3261 §22.4, RFC 7616,
 * RFC 8760). Only qop=auth with MD5 or SHA-256 is accepted: that is all we challenge
 * with. The outcome says why a request failed so the SIP layer can answer:
 *   stale                                  → 401, fresh challenge with stale=true
 *   invalid-nonce, nc-reused, bad-qop,
 *   bad-algorithm, realm-mismatch          → 401, fresh challenge (the client can retry)
 *   unknown-user, wrong-password           → 403 once the client has retried
 *   uri-mismatch                           → 400 (RFC 7616 §3.4.6)
 */
import type { SipCredential } from '../../store/store.js';
import { type DigestCredentials, parseNonceCount } from './authorization-header.js';
import { DIGEST_ALGORITHMS, type DigestAlgorithm, digestResponse } from '../../credentials/digest-hash.js';
import type { NonceCountStore } from './nonce-count-store.js';
import type { NonceVerifier } from './nonce-issuer.js';
import { sameSecret } from '../../same-secret.js';

export type DigestFailure =
  | 'realm-mismatch'
  | 'bad-algorithm'
  /** qop is not auth, or cnonce or nc is missing. */
  | 'bad-qop'
  | 'uri-mismatch'
  /** Not a nonce we issued (forged, damaged, other realm or secret). */
  | 'invalid-nonce'
  /** Our nonce, expired, and the response was right for it. */
  | 'stale'
  | 'unknown-user'
  | 'wrong-password'
  /** A replay, or a nonce count that did not increase. */
  | 'nc-reused';

export type DigestOutcome =
  | { readonly ok: true; readonly username: string; readonly algorithm: DigestAlgorithm }
  | { readonly ok: false; readonly reason: DigestFailure };

export interface DigestAttempt {
  readonly credentials: DigestCredentials;
  readonly method: string;
  readonly requestUri: string;
  /** The stored credential for credentials.username; undefined when there is none. */
  readonly credential: Pick<SipCredential, 'username' | 'realm' | 'ha1Md5' | 'ha1Sha256'> | undefined;
}

export interface DigestVerifierOptions {
  /** The SIP domain: the realm we challenge with. */
  readonly realm: string;
  readonly nonces: NonceVerifier;
  readonly nonceCounts: NonceCountStore;
  /** The algorithms we challenge with; all of DIGEST_ALGORITHMS when absent. */
  readonly algorithms?: readonly DigestAlgorithm[];
}

export class DigestVerifier {
  constructor(private readonly options: DigestVerifierOptions) {}

  async verify(attempt: DigestAttempt): Promise<DigestOutcome> {
    const { realm, nonces, nonceCounts } = this.options;
    const { credentials, credential } = attempt;
    const fail = (reason: DigestFailure): DigestOutcome => ({ ok: false, reason });

    if (credentials.realm !== realm) return fail('realm-mismatch');
    const algorithm = offeredAlgorithm(credentials.algorithm, this.options.algorithms ?? DIGEST_ALGORITHMS);
    if (!algorithm) return fail('bad-algorithm');
    const { cnonce, nc } = credentials;
    const count = nc === undefined ? undefined : parseNonceCount(nc);
    // Exactly "auth": the response hashes the qop text as sent.
    if (credentials.qop !== 'auth' || !cnonce || nc === undefined || count === undefined) return fail('bad-qop');
    if (!sameRequestTarget(credentials.uri, attempt.requestUri)) return fail('uri-mismatch');

    const nonceState = nonces.check(credentials.nonce);
    if (nonceState === 'invalid') return fail('invalid-nonce');
    const known = credential && credential.realm === realm ? credential : undefined;

    // An unknown username costs the same hashing as a known one: the time of the answer must not tell them apart.
    const expected = digestResponse({
      algorithm,
      ha1: !known ? UNKNOWN_USER_HA1[algorithm] : algorithm === 'MD5' ? known.ha1Md5 : known.ha1Sha256,
      nonce: credentials.nonce,
      nc,
      cnonce,
      qop: 'auth',
      method: attempt.method,
      uri: credentials.uri,
    });
    // Hex: the same digits in either case are the same response.
    const matches = sameSecret(expected, credentials.response.toLowerCase());
    if (!known) return fail('unknown-user');
    if (!matches) return fail('wrong-password');
    // Only now, with a correct response: stale=true tells the client its password is right.
    if (nonceState === 'stale') return fail('stale');
    // Claimed last, so requests with wrong responses cannot burn a caller's nonce counts.
    if (!(await nonceCounts.claim(credentials.nonce, count, nonces.ttlMs))) return fail('nc-reused');
    return { ok: true, username: known.username, algorithm };
  }
}

/** Stands in for an unknown username's HA1; no response can match it but by chance. */
const UNKNOWN_USER_HA1: Record<DigestAlgorithm, string> = { MD5: '0'.repeat(32), 'SHA-256': '0'.repeat(64) };

/** Absent means MD5 (RFC 7616 §3.3); names compare case-insensitively. */
function offeredAlgorithm(name: string | undefined, offered: readonly DigestAlgorithm[]): DigestAlgorithm | undefined {
  const wanted = (name ?? 'MD5').toLowerCase();
  return offered.find((algorithm) => algorithm.toLowerCase() === wanted);
}

const SIP_URI = /^(sips?):(?:([^@]*)@)?([^;?]*)/i;

/**
 * The digest-uri must name the resource the request is for (RFC 7616 §3.4.6). Scheme
 * and host compare case-insensitively and URI parameters are ignored, so a proxy that
 * adds ;transport=tcp to the Request-URI does not lock a caller out.
 */
function sameRequestTarget(digestUri: string, requestUri: string): boolean {
  if (digestUri === requestUri) return true;
  const target = requestTarget(digestUri);
  return target !== undefined && target === requestTarget(requestUri);
}

function requestTarget(uri: string): string | undefined {
  const match = SIP_URI.exec(uri);
  if (!match) return undefined;
  const [, scheme = '', user = '', hostport = ''] = match;
  return `${scheme.toLowerCase()}:${user}@${hostport.toLowerCase()}`;
}
