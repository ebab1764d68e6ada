/**
 * How a webhook is signed, and how a receiver checks it:
 *
 *   X-Gateway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(WEBHOOK_SECRET, t + "." + body)>
 *
 * The timestamp is the attempt's (each retry is signed afresh), so a receiver can refuse a
 * request replayed later than its tolerance; the body is the exact bytes received. More
 * than one v1 may appear (a receiver accepts any that matches), as Stripe's scheme allows.
 */
import { createHmac } from 'node:crypto';
import { sameSecret } from '../same-secret.js';

export const SIGNATURE_HEADER = 'X-Gateway-Signature';

/** How far a signature's timestamp may be from the receiver's clock by default. */
const DEFAULT_TOLERANCE_SECONDS = 300;

export function signatureHeader(secret: string, timestampSeconds: number, body: string): string {
  return `t=${timestampSeconds},v1=${hmacHex(secret, timestampSeconds, body)}`;
}

export interface VerifyOptions {
  /** The receiver's clock; default now. */
  readonly nowSeconds?: number;
  readonly toleranceSeconds?: number;
}

/** True when the header signs this body with this secret at a time within the tolerance. */
export function verifySignature(secret: string, header: string | undefined, body: string, options: VerifyOptions = {}): boolean {
  if (!header) return false;
  const fields = header.split(',').map((field) => field.trim().split('='));
  const timestamp = fields.find(([name]) => name === 't')?.[1];
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  const nowSeconds = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(nowSeconds - Number(timestamp)) > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return false;
  const expected = hmacHex(secret, Number(timestamp), body);
  // Every candidate is compared, so how many there are is all the timing tells.
  let matched = false;
  for (const [name, value] of fields) if (name === 'v1' && value !== undefined && sameSecret(expected, value)) matched = true;
  return matched;
}

function hmacHex(secret: string, timestampSeconds: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
}
