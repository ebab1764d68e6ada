/**
 * Only Twilio may drive a call: every request to /twilio/* must carry X-Twilio-Signature,
 * Twilio's HMAC-SHA1 (keyed by the account's auth token) over the URL it requested and
 * the sorted POST parameters, checked with the twilio package's own validator. Behind a
 * reverse proxy the URL Twilio requested is PUBLIC_URL plus the path we see.
 */
import type { FastifyRequest } from 'fastify';
import twilio from 'twilio';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { FormFields } from './form-body.js';

export function twilioSignatureCheck(options: { readonly authToken: string | undefined; readonly publicUrl: string }, log: Logger) {
  const { authToken, publicUrl } = options;
  return async (request: FastifyRequest): Promise<void> => {
    if (!authToken) throw new GatewayError('unavailable', 'Twilio webhooks are disabled: TWILIO_AUTH_TOKEN is not set');
    const url = publicUrl + request.url;
    const fields = (request.body ?? {}) as FormFields;
    const callSid = typeof fields.CallSid === 'string' ? fields.CallSid : undefined;
    const signature = request.headers['x-twilio-signature'];
    if (typeof signature !== 'string' || signature === '') {
      log.warn({ url, callSid, remoteAddress: request.socket.remoteAddress }, 'Twilio webhook refused: no X-Twilio-Signature');
      throw new GatewayError('forbidden', 'X-Twilio-Signature header is missing');
    }
    if (!twilio.validateRequest(authToken, signature, url, fields)) {
      log.warn({ url, callSid, remoteAddress: request.socket.remoteAddress }, 'Twilio webhook refused: X-Twilio-Signature does not match');
      throw new GatewayError('forbidden', `X-Twilio-Signature does not match this request to ${url} (PUBLIC_URL must be the base URL Twilio calls)`);
    }
  };
}
