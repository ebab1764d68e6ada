/**
 * The one pino root logger. Long-lived objects log through children carrying their
 * ids; call logs always carry callId and meetingId. Secrets are censored by key name
 * wherever they appear in a logged object, as a last line of defence: code never
 * passes them on purpose.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

const SECRET_KEYS = [
  'password',
  'ha1',
  'ha1Md5',
  'ha1Sha256',
  'token',
  'apiToken',
  'metricsToken',
  'authToken',
  'twilioAuthToken',
  'secret',
  'drachtioSecret',
  'sipNonceSecret',
  'authorization',
  'redisUrl',
];

export const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  'req.headers.authorization',
  'req.headers["x-twilio-signature"]',
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
