/**
 * Only Twilio may drive a call: every request to /twilio/* must carry X-Twilio-Signature,
 * Twilio's HMAC-SHA1 (keyed by the account's auth token) over the URL it requested and
 * the sorted POST parameters, computed by the twilio package and compared by sameSecret.
 * Behind a reverse proxy the URL Twilio requested is PUBLIC_URL plus the path we see.
 */
import type { FastifyRequest } from 'fastify';
import twilio from 'twilio';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { sameSecret } from '../same-secret.js';
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
    if (!signedByTwilio(authToken, signature, url, fields)) {
      log.warn({ url, callSid, remoteAddress: request.socket.remoteAddress }, 'Twilio webhook refused: X-Twilio-Signature does not match');
      throw new GatewayError('forbidden', `X-Twilio-Signature does not match this request to ${url} (PUBLIC_URL must be the base URL Twilio calls)`);
    }
  };
}

/**
 * What twilio.validateRequest accepts, with our comparison: Twilio signs the URL with or
 * without the scheme's default port depending on its back end, so either form counts.
 */
function signedByTwilio(authToken: string, signature: string, url: string, fields: FormFields): boolean {
  const withoutPort = new URL(url);
  withoutPort.port = '';
  const withPort = new URL(url);
  const forms = withPort.port === '' ? [withoutPort.toString(), withDefaultPort(withPort)] : [url, withoutPort.toString()];
  // Both are compared, so the time taken does not say which form was close.
  const matches = forms.map((form) => sameSecret(twilio.getExpectedTwilioSignature(authToken, form, fields), signature));
  return matches.includes(true);
}

/** new URL() drops a default port, so it is written in by hand, as the twilio package does. */
function withDefaultPort(url: URL): string {
  const port = url.protocol === 'https:' ? 443 : 80;
  return `${url.protocol}//${url.host}:${port}${url.pathname}${url.search}`;
}
