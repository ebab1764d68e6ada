/**
 * The store could not be reached (Redis down, restarting, or unreachable). Callers
 * answer it like any GatewayError: 503 over HTTP and SIP, with this message as the
 * reason, so a caller refused while Redis is away is told why.
 */
import type { Redis } from 'ioredis';
import { GatewayError } from '../errors.js';

export class StoreUnavailableError extends GatewayError {
  constructor(cause: Error) {
    super('unavailable', `the store (Redis) is unavailable: ${cause.message}`);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * A failed Redis command as the gateway answers it: unavailable when the client has no
 * working connection (the command failed for that); anything else (a reply error, a bug
 * of ours) stays as it is.
 */
export function storeFailure(err: unknown, redis: Redis): unknown {
  return err instanceof Error && !(err instanceof GatewayError) && redis.status !== 'ready' ? new StoreUnavailableError(err) : err;
}
