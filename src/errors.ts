/**
 * Failures the gateway expects and answers. Each carries what it maps to at every
 * boundary, so HTTP, SIP and WebSocket each translate it exactly once.
 */
export type GatewayErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'gone'
  | 'busy'
  | 'not_acceptable'
  | 'unsupported_media_type'
  | 'unavailable';

const STATUS: Record<GatewayErrorCode, { http: number; sip: number }> = {
  bad_request: { http: 400, sip: 400 },
  unauthorized: { http: 401, sip: 401 },
  forbidden: { http: 403, sip: 403 },
  not_found: { http: 404, sip: 404 },
  conflict: { http: 409, sip: 491 },
  gone: { http: 410, sip: 404 },
  busy: { http: 409, sip: 486 },
  not_acceptable: { http: 422, sip: 488 },
  unsupported_media_type: { http: 415, sip: 415 },
  unavailable: { http: 503, sip: 503 },
};

export interface GatewayErrorOptions {
  /** The ITU-T Q.850 cause a BYE's Reason header carries instead of the SIP status (RFC 3326). */
  readonly q850Cause?: number;
}

export class GatewayError extends Error {
  readonly httpStatus: number;
  readonly sipStatus: number;
  readonly q850Cause: number | undefined;

  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    options: GatewayErrorOptions = {},
  ) {
    super(message);
    this.q850Cause = options.q850Cause;
    this.name = 'GatewayError';
    this.httpStatus = STATUS[code].http;
    this.sipStatus = STATUS[code].sip;
  }
}
