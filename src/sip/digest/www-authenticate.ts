/**
 * The WWW-Authenticate values of a 401: one Digest challenge per algorithm we accept, in
 * our order of preference (RFC 8760 §2.4), all with the same nonce and qop="auth". A
 * client should answer the first algorithm it supports, but not all do: baresip 1.0's libre
 * gives up when any challenge is not MD5, twinkle 1.10 answers only the last one. That is
 * why SIP_DIGEST_ALGORITHMS offers MD5 alone unless SHA-256 is asked for.
 */
import { DIGEST_ALGORITHMS, type DigestAlgorithm } from '../../credentials/digest-hash.js';

export interface DigestChallenge {
  /** The SIP domain. */
  readonly realm: string;
  readonly nonce: string;
  /** The client's last nonce had expired: it may retry without asking the user again. */
  readonly stale?: boolean;
  /** Returned unchanged by the client; verification does not rely on it. */
  readonly opaque?: string;
  /** The algorithms offered, in order; all of DIGEST_ALGORITHMS when absent. */
  readonly algorithms?: readonly DigestAlgorithm[];
}

/** One header value per algorithm, in the order they must appear. */
export function wwwAuthenticate(challenge: DigestChallenge): string[] {
  return (challenge.algorithms ?? DIGEST_ALGORITHMS).map((algorithm) => {
    const params = [`realm=${quote(challenge.realm)}`, `nonce=${quote(challenge.nonce)}`];
    if (challenge.opaque !== undefined) params.push(`opaque=${quote(challenge.opaque)}`);
    params.push(`algorithm=${algorithm}`, 'qop="auth"');
    if (challenge.stale) params.push('stale=true');
    return `Digest ${params.join(', ')}`;
  });
}

/** RFC 3261 quoted-string; a line break here would end the header, so it is refused. */
function quote(value: string): string {
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) throw new RangeError('a digest challenge value contains a control character');
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
