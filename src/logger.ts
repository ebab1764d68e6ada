/**
 * The one pino root logger. Long-lived objects log through children carrying their
 * ids; call logs always carry callId and meetingId. Secrets are censored by key name
 * wherever they appear in a logged object, as a last line of defence: code never
 * passes them on purpose.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Keys whose value is a secret, wherever they appear (top level or one object down). */
const SECRET_KEYS = [
  'password',
  'ha1',
  'ha1Md5',
  'ha1Sha256',
  // A digest response: with its nonce, enough to guess the password offline.
  'response',
  'digestResponse',
  'token',
  'apiToken',
  'metricsToken',
  'authToken',
  'twilioAuthToken',
  'signature',
  'secret',
  'drachtioSecret',
  'sipNonceSecret',
  'sipClusterSecret',
  'authorization',
  'proxyAuthorization',
  'pin',
  'redisUrl',
  // A receiver's URL may carry its own token (in the path, the query or user:password@).
  'webhookUrl',
  'webhookSecret',
  // SRTP master keys (SDES): a call's keys, and the negotiated media that holds them.
  'srtp',
  'srtpKey',
  'localKey',
  'remoteKey',
];

/** Headers that carry credentials, under `headers` (a request's, a SIP message's), logged on their own or one object down. */
const SECRET_HEADERS = ['["proxy-authorization"]', '["x-twilio-signature"]'];

export const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  '*.headers.authorization',
  ...SECRET_HEADERS.flatMap((h) => [`headers${h}`, `*.headers${h}`]),
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'sip-webrtc-gateway' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** The logger for everything about one call. */
export function callLogger(parent: Logger, ids: { callId: string; meetingId: string }): Logger {
  return parent.child(ids);
}
