/**
 * The one way the gateway compares a secret with what a client sent (a digest response,
 * the API token, a Twilio signature, a nonce's MAC, a PIN): in constant time, over SHA-256
 * digests of both, so neither where the first difference lies nor the secret's length
 * shows in how long the answer takes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export function sameSecret(expected: string | Uint8Array, received: string | Uint8Array): boolean {
  return timingSafeEqual(sha256(expected), sha256(received));
}

function sha256(value: string | Uint8Array): Buffer {
  return createHash('sha256').update(value).digest();
}
