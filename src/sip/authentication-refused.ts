/**
 * An INVITE the digest check turned away: its own status and reason phrase (401 with a
 * challenge to retry with, 403, 400), and no Warning: a caller is not told more than that.
 */
import { GatewayError, type GatewayErrorCode } from '../errors.js';
import type { Authentication } from './sip-authenticator.js';

const CODES: Record<400 | 401 | 403, GatewayErrorCode> = { 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden' };

export class AuthenticationRefused extends GatewayError {
  /** WWW-Authenticate values of a 401: the caller may retry with credentials. */
  readonly challenge: readonly string[] | undefined;

  constructor(refusal: Extract<Authentication, { ok: false }>) {
    super(CODES[refusal.status], refusal.reason);
    this.name = 'AuthenticationRefused';
    this.challenge = refusal.status === 401 ? refusal.challenge : undefined;
  }
}
