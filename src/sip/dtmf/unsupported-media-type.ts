/**
 * A request body of a type we do not handle: 415, with the Accept header listing what we
 * do (RFC 3261 §21.4.13).
 */
import { GatewayError } from '../../errors.js';

export class UnsupportedMediaTypeError extends GatewayError {
  constructor(
    /** The media types we accept, for the response's Accept header. */
    readonly accept: readonly string[],
    message: string,
  ) {
    super('unsupported_media_type', message);
    this.name = 'UnsupportedMediaTypeError';
  }

  /** The Accept header value, e.g. `application/dtmf-relay, application/dtmf`. */
  acceptHeader(): string {
    return this.accept.join(', ');
  }
}
