/**
 * The store could not be reached (Redis down, restarting, or unreachable). Callers
 * answer it like any GatewayError: 503 over HTTP and SIP, with this message as the
 * reason, so a caller refused while Redis is away is told why.
 */
import { ReplyError } from 'ioredis';
import { GatewayError } from '../errors.js';

export class StoreUnavailableError extends GatewayError {
  constructor(cause: Error) {
    super('unavailable', `the call store is unavailable (${cause.message})`);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * A Redis failure as the gateway answers it: a reply error (Redis itself refused the
 * command) is a bug of ours and stays as it is; anything else means the server could
 * not be reached.
 */
export function storeFailure(err: unknown): Error {
  if (err instanceof ReplyError || err instanceof GatewayError || !(err instanceof Error)) return err as Error;
  return new StoreUnavailableError(err);
}
