/**
 * DTMF carried by SIP INFO (no RFC; the de facto forms are documented at voip-info.org
 * "SIP Info DTMF" and in Cisco's "SIP INFO Method for DTMF Tone Generation"):
 *
 *   application/dtmf-relay   Signal=5\r\nDuration=160
 *   application/dtmf         5
 *
 * What senders put in Signal varies, so we accept what Asterisk's res_pjsip_dtmf_info
 * accepts: the key itself (`5`, `*`, `#`, `A`-`D`, also lower case), or its RFC 4733
 * event code (`10` = `*`, `11` = `#`, `12`-`15` = A-D), which SEMS/yeti sent. Field
 * names are case-insensitive, whitespace around `=` is ignored (SIP.js sends
 * `Signal= 5`), and lines may end in CRLF or bare LF. Hook flash (`16`, `!`) is valid
 * but not a digit.
 */
import { GatewayError } from '../../errors.js';
import { type DtmfDigit, digitForEvent, isDtmfDigit } from './dtmf-digit.js';
import { UnsupportedMediaTypeError } from './unsupported-media-type.js';

export interface SipInfoDtmf {
  readonly digit: DtmfDigit;
  /** As the sender gave it; absent or unreadable durations are left out, not refused. */
  readonly durationMs?: number;
}

const DTMF_RELAY = 'application/dtmf-relay';
const DTMF = 'application/dtmf';

/** A key press needs a few dozen bytes; anything much larger is not DTMF. */
const MAX_BODY_LENGTH = 512;
const HOOK_FLASH = 16;

/**
 * The digit an INFO carries, or undefined when it carries none: an empty body (Asterisk
 * answers those 200, as some phones send them) or a hook flash. Throws a GatewayError
 * 'bad_request' (400) for a body that is not DTMF, and UnsupportedMediaTypeError (415)
 * for a body of another type.
 */
export function parseSipInfoDtmf(contentType: string | undefined, body: string): SipInfoDtmf | undefined {
  if (body.trim() === '') return undefined;
  if (contentType === undefined) throw new GatewayError('bad_request', 'INFO has a body but no Content-Type');
  if (body.length > MAX_BODY_LENGTH) throw new GatewayError('bad_request', `DTMF INFO body over ${MAX_BODY_LENGTH} bytes`);
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType === DTMF_RELAY) return dtmfRelay(body);
  if (mediaType === DTMF) return signal(body.trim());
  throw new UnsupportedMediaTypeError([DTMF_RELAY, DTMF], `INFO bodies of type ${mediaType || '(empty)'} are not supported`);
}

function dtmfRelay(body: string): SipInfoDtmf | undefined {
  const fields = new Map<string, string>();
  for (const line of body.split(/\r?\n|\r/)) {
    const equals = line.indexOf('=');
    if (equals < 0) continue;
    const key = line.slice(0, equals).trim().toLowerCase();
    if (fields.has(key)) throw new GatewayError('bad_request', `dtmf-relay body repeats ${key}`);
    fields.set(key, line.slice(equals + 1).trim());
  }
  const value = fields.get('signal');
  if (value === undefined) throw new GatewayError('bad_request', 'dtmf-relay body has no Signal');
  const digit = signal(value);
  const duration = fields.get('duration');
  return digit && duration !== undefined && /^\d{1,9}$/.test(duration) && Number(duration) > 0
    ? { ...digit, durationMs: Number(duration) }
    : digit;
}

/** A key or an RFC 4733 event code; undefined for hook flash. */
function signal(value: string): SipInfoDtmf | undefined {
  if (value === '!') return undefined;
  const key = value.toUpperCase();
  if (isDtmfDigit(key)) return { digit: key };
  const code = /^\d{1,3}$/.test(value) ? Number(value) : NaN;
  const digit = digitForEvent(code);
  if (digit) return { digit };
  if (code === HOOK_FLASH) return undefined;
  throw new GatewayError('bad_request', `not a DTMF signal: ${JSON.stringify(value.slice(0, 20))}`);
}
