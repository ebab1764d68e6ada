/**
 * Digest nonces that any gateway node can check without shared state:
 * base64url(timestamp ‖ random ‖ HMAC-SHA256(secret, timestamp ‖ random ‖ realm)).
 * The random part makes them unpredictable; the MAC makes them unforgeable and ties them
 * to one realm; the timestamp lets every node holding the secret tell fresh from stale.
 */
import { type KeyObject, createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { sameSecret } from '../../same-secret.js';

/** valid: ours and fresh. stale: ours but expired (re-challenge with stale=true). invalid: not ours. */
export type NonceState = 'valid' | 'stale' | 'invalid';

/** What digest verification needs from a nonce source. */
export interface NonceVerifier {
  check(nonce: string): NonceState;
  /** How long a nonce stays valid; bounds how long its nonce counts must be remembered. */
  readonly ttlMs: number;
}

export interface NonceIssuerOptions {
  /** Shared by every node of the deployment (configuration); at least 16 bytes. */
  readonly secret: string | Uint8Array;
  readonly realm: string;
  /** Default 300 s. */
  readonly ttlMs?: number;
  readonly now?: () => number;
}

export const DEFAULT_NONCE_TTL_MS = 300_000;
const MIN_SECRET_BYTES = 16;
/** Nodes' clocks differ a little; a nonce this far "in the future" is still accepted. */
const CLOCK_SKEW_MS = 5_000;

const TIME_BYTES = 8;
const RANDOM_BYTES = 16;
const MAC_BYTES = 32;
const NONCE_BYTES = TIME_BYTES + RANDOM_BYTES + MAC_BYTES;
const NONCE_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${Math.ceil((NONCE_BYTES * 4) / 3)}}$`);

export class NonceIssuer implements NonceVerifier {
  readonly ttlMs: number;
  // A KeyObject in a private field: the secret cannot leak through logging, inspect or JSON.
  readonly #key: KeyObject;
  readonly #realm: string;
  readonly #now: () => number;

  constructor(options: NonceIssuerOptions) {
    const secret = typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : options.secret;
    if (secret.byteLength < MIN_SECRET_BYTES) {
      throw new RangeError(`the nonce secret must be at least ${MIN_SECRET_BYTES} bytes`);
    }
    const ttlMs = options.ttlMs ?? DEFAULT_NONCE_TTL_MS;
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError('the nonce lifetime must be a positive integer (ms)');
    this.#key = createSecretKey(secret);
    this.#realm = options.realm;
    this.#now = options.now ?? Date.now;
    this.ttlMs = ttlMs;
  }

  issue(): string {
    const body = Buffer.alloc(TIME_BYTES + RANDOM_BYTES);
    body.writeBigUInt64BE(BigInt(Math.trunc(this.#now())));
    randomBytes(RANDOM_BYTES).copy(body, TIME_BYTES);
    return Buffer.concat([body, this.#mac(body)]).toString('base64url');
  }

  check(nonce: string): NonceState {
    if (!NONCE_PATTERN.test(nonce)) return 'invalid';
    const bytes = Buffer.from(nonce, 'base64url');
    // Only the canonical spelling counts, so one nonce cannot appear under two names.
    if (bytes.length !== NONCE_BYTES || bytes.toString('base64url') !== nonce) return 'invalid';
    const body = bytes.subarray(0, TIME_BYTES + RANDOM_BYTES);
    if (!sameSecret(this.#mac(body), bytes.subarray(TIME_BYTES + RANDOM_BYTES))) return 'invalid';
    const age = this.#now() - Number(body.readBigUInt64BE(0));
    return age > this.ttlMs || age < -CLOCK_SKEW_MS ? 'stale' : 'valid';
  }

  #mac(body: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(body).update(this.#realm, 'utf8').digest();
  }
}
