/**
 * Digest authentication of INVITEs: turns a request's Authorization header into "who is
 * calling" or the SIP answer to give instead (a 401 challenge, or 403 once the caller has
 * retried with wrong credentials). Nothing but this answer is spent on an unauthenticated
 * request.
 *
 * An unknown username, a wrong password and a credential of another meeting get the same
 * answer, 403 Wrong Credentials, after the same work: nothing tells a guesser which it was
 * (the reason is logged at debug). Each such failure uses up its nonce (a guess needs a
 * fresh challenge) and is counted by the guard, which bans a source and slows a username.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import type { SipCredential } from '../store/store.js';
import { MalformedAuthorizationError, parseAuthorization } from './digest/authorization-header.js';
import type { DigestAlgorithm } from '../credentials/digest-hash.js';
import { type DigestFailure, DigestVerifier } from './digest/digest-verifier.js';
import type { NonceCountStore } from './digest/nonce-count-store.js';
import { NonceIssuer } from './digest/nonce-issuer.js';
import { wwwAuthenticate } from './digest/www-authenticate.js';
import type { SipCredentials } from '../credentials/sip-credentials.js';
import type { AuthFailureReason, SipGuard } from './guard/sip-guard.js';
import type { SipRequest } from './srf.js';

/** What authentication asks of the SIP guard. */
export type AuthenticationGuard = Pick<SipGuard, 'failed' | 'underAttack' | 'isNonceSpent' | 'spendNonce' | 'callerOf'>;

export interface SipAuthenticatorOptions {
  /** The SIP domain: the realm we challenge with. */
  readonly realm: string;
  readonly algorithms: readonly DigestAlgorithm[];
  /** Signs nonces; unset: a random one for this process. */
  readonly secret: string | undefined;
  readonly credentials: Pick<SipCredentials, 'lookup'>;
  readonly nonceCounts: NonceCountStore;
  readonly guard: AuthenticationGuard;
  /** How long an answer for a username under attack waits; default SLOW_DOWN_MS. */
  readonly slowDownMs: number;
  readonly log: Logger;
}

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

  constructor(private readonly options: SipAuthenticatorOptions) {
    const { realm, secret, nonceCounts, algorithms } = options;
    // Without a configured secret, nonces are only valid on this process: fine for one node.
    this.nonces = new NonceIssuer({ secret: secret ?? randomBytes(32), realm });
    this.verifier = new DigestVerifier({ realm, nonces: this.nonces, nonceCounts, algorithms });
  }

  /** meetingId: the meeting the INVITE is for; a credential scoped to another one is refused like a wrong password. */
  async authenticate(request: SipRequest, meetingId: string): Promise<Authentication> {
    const header = request.get('Authorization');
    if (!header) return this.challenge('Unauthorized', false);
    let credentials;
    try {
      credentials = parseAuthorization(header);
    } catch (err) {
      if (err instanceof MalformedAuthorizationError) return { ok: false, status: 400, reason: 'Malformed Authorization' };
      throw err;
    }
    const { guard } = this.options;
    // A used-up nonce is not checked again: the guess behind it needs a fresh challenge.
    if (await guard.isNonceSpent(credentials.nonce)) return this.challenge('Unknown Nonce', false);
    if (await guard.underAttack(credentials.username)) await sleep(this.options.slowDownMs);
    const stored = await this.options.credentials.lookup(credentials.username);
    // Another meeting's credential is verified as no credential at all: the same work and answer as an unknown username.
    const inScope = stored && (stored.meetingId === undefined || stored.meetingId === meetingId) ? stored : undefined;
    const outcome = await this.verifier.verify({ credentials, method: request.method, requestUri: request.uri, credential: inScope });
    if (outcome.ok && inScope) return { ok: true, credential: inScope };
    // (ok without a credential in scope cannot happen: the verifier has nothing to match then.)
    const failure = outcome.ok ? 'unknown-user' : outcome.reason;
    if (failure === 'unknown-user' || failure === 'wrong-password') {
      return this.refuse(request, meetingId, credentials, stored && !inScope ? 'other-meeting' : failure);
    }
    const retry = RECHALLENGE[failure];
    if (retry) return this.challenge(retry, failure === 'stale');
    if (failure === 'uri-mismatch') return { ok: false, status: 400, reason: 'Digest URI Mismatch' };
    return { ok: false, status: 403, reason: 'Wrong Credentials' };
  }

  /** 403 Wrong Credentials, whatever the reason; the nonce is used up and the failure counted. */
  private async refuse(request: SipRequest, meetingId: string, answer: { username: string; nonce: string }, reason: AuthFailureReason): Promise<Authentication> {
    const { guard, log } = this.options;
    const source = guard.callerOf(request);
    log.debug({ callId: request.get('Call-ID'), meetingId, source, reason }, 'SIP authentication failed');
    await guard.spendNonce(answer.nonce, this.nonces.ttlMs);
    await guard.failed({ source, username: answer.username, reason });
    return { ok: false, status: 403, reason: 'Wrong Credentials' };
  }

  private challenge(reason: string, stale: boolean): Authentication {
    const { realm, algorithms } = this.options;
    return { ok: false, status: 401, reason, challenge: wwwAuthenticate({ realm, nonce: this.nonces.issue(), stale, algorithms }) };
  }
}
