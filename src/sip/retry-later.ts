import { GatewayError } from '../errors.js';

/** A refusal the caller may retry: 503 with Retry-After (RFC 3261 §21.5.4, §20.33) and a Warning saying why. */
export class RetryLaterError extends GatewayError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('unavailable', message);
    this.name = 'RetryLaterError';
  }
}
