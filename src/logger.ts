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

/** Headers that carry credentials, under `headers` (a request's, a SIP message's), at the top or one object down. */
// x-gateway-handoff: a peer's proof that the caller is authenticated (single-use, 10 s; still not for the log).
const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'x-twilio-signature', 'x-gateway-handoff'];

const CENSOR = '[redacted]';
const secretKeys = new Set(SECRET_KEYS);

type Fields = Record<string, unknown>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A shallow copy that stays what it was for pino's serializers (an Error stays an Error). */
function copyOf(fields: Fields): Fields {
  if (!(fields instanceof Error)) return { ...fields };
  return Object.assign(Object.create(Object.getPrototypeOf(fields) as object) as Fields, fields, { message: fields.message, stack: fields.stack });
}

function censorHeaders(headers: unknown): unknown {
  if (!isObject(headers) || !SECRET_HEADERS.some((name) => name in headers)) return headers;
  const censored = copyOf(headers);
  for (const name of SECRET_HEADERS) if (name in censored) censored[name] = CENSOR;
  return censored;
}

/**
 * The fields with every secret censored: a secret key's value at the top or one object
 * down, and credential headers under `headers` at either level. The caller's objects are
 * never changed (a copy is made only where something is censored). pino's own `redact`
 * did the same by path, but parsed its ~80 paths again for every line: 25 µs a line
 * against 2 without it.
 */
export function censorSecrets(fields: Fields, depth = 0): Fields {
  let censored: Fields | undefined;
  const set = (key: string, value: unknown) => {
    censored ??= copyOf(fields);
    censored[key] = value;
  };
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (secretKeys.has(key)) set(key, CENSOR);
    else if (key === 'headers') {
      const headers = censorHeaders(value);
      if (headers !== value) set(key, headers);
    } else if (depth === 0 && isObject(value)) {
      const inner = censorSecrets(value, 1);
      if (inner !== value) set(key, inner);
    }
  }
  return censored ?? fields;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const root = pino(
    {
      level,
      base: { service: 'sip-webrtc-gateway' },
      formatters: { log: censorSecrets, bindings: censorSecrets },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
  // pino formats a child's bindings without `formatters.bindings`; every child inherits
  // this `child` from the root (pino makes children with Object.create), so theirs are censored too.
  const child = root.child;
  root.child = function (this: Logger, bindings, options) {
    return child.call(this, censorSecrets(bindings), options);
  } as typeof child;
  return root;
}

/** The logger for everything about one call. */
export function callLogger(parent: Logger, ids: { callId: string; meetingId: string }): Logger {
  return parent.child(ids);
}
