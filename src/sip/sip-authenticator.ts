/**
 * Digest authentication of INVITEs: turns a request's Authorization header into "who is
 * calling" or the SIP answer to give instead (a 401 challenge, or 403 once the caller has
 * retried with wrong credentials). Nothing but this answer is spent on an unauthenticated
 * request.
 */
import { randomBytes } from 'node:crypto';
import type { SipCredential } from '../store/store.js';
import { MalformedAuthorizationError, parseAuthorization } from './digest/authorization-header.js';
import type { DigestAlgorithm } from '../credentials/digest-hash.js';
import { type DigestFailure, DigestVerifier } from './digest/digest-verifier.js';
import type { NonceCountStore } from './digest/nonce-count-store.js';
import { NonceIssuer } from './digest/nonce-issuer.js';
import { wwwAuthenticate } from './digest/www-authenticate.js';
import type { SipCredentials } from '../credentials/sip-credentials.js';
import type { SipRequest } from './srf.js';

export type Authentication =
  | { readonly ok: true; readonly credential: SipCredential }
  | { readonly ok: false; readonly status: 401; readonly reason: string; readonly challenge: string[] }
  | { readonly ok: false; readonly status: 400 | 403; readonly reason: string };

/** The client may retry: a fresh challenge (stale=true when only the nonce had expired). */
const RECHALLENGE: Partial<Record<DigestFailure, string>> = {
  stale: 'Nonce Expired',
  'invalid-nonce': 'Unknown Nonce',
  'nc-reused': 'Nonce Count Reused',
  'bad-qop': 'Unsupported qop',
  'bad-algorithm': 'Unsupported Algorithm',
  'realm-mismatch': 'Wrong Realm',
};

export class SipAuthenticator {
  private readonly nonces: NonceIssuer;
  private readonly verifier: DigestVerifier;

  constructor(
    private readonly realm: string,
    private readonly algorithms: readonly DigestAlgorithm[],
    secret: string | undefined,
    private readonly credentials: Pick<SipCredentials, 'lookup'>,
    nonceCounts: NonceCountStore,
  ) {
    // Without a configured secret, nonces are only valid on this process: fine for one node.
    this.nonces = new NonceIssuer({ secret: secret ?? randomBytes(32), realm });
    this.verifier = new DigestVerifier({ realm, nonces: this.nonces, nonceCounts, algorithms });
  }

  async authenticate(request: SipRequest): Promise<Authentication> {
    const header = request.get('Authorization');
    if (!header) return this.challenge('Unauthorized', false);
    let credentials;
    try {
      credentials = parseAuthorization(header);
    } catch (err) {
      if (err instanceof MalformedAuthorizationError) return { ok: false, status: 400, reason: 'Malformed Authorization' };
      throw err;
    }
    const credential = await this.credentials.lookup(credentials.username);
    const outcome = await this.verifier.verify({ credentials, method: request.method, requestUri: request.uri, credential });
    if (outcome.ok && credential) return { ok: true, credential };
    if (outcome.ok) return { ok: false, status: 403, reason: 'Wrong Credentials' };
    const retry = RECHALLENGE[outcome.reason];
    if (retry) return this.challenge(retry, outcome.reason === 'stale');
    if (outcome.reason === 'uri-mismatch') return { ok: false, status: 400, reason: 'Digest URI Mismatch' };
    return { ok: false, status: 403, reason: 'Wrong Credentials' };
  }

  private challenge(reason: string, stale: boolean): Authentication {
    return { ok: false, status: 401, reason, challenge: wwwAuthenticate({ realm: this.realm, nonce: this.nonces.issue(), stale, algorithms: this.algorithms }) };
  }
}
