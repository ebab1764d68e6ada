/**
 * What a UAS checks in a request before it processes it (RFC 3261 §8.2.2 and §8.2.3), for
 * the requests the gateway answers itself out of a dialog (INVITE, OPTIONS): a
 * Request-URI scheme it does not serve (416), an extension the caller requires (420, with
 * Unsupported), a body it cannot read (415, with Accept), and an INVITE whose Accept rules
 * out the SDP the answer would carry (406). Each answer carries a Warning saying exactly
 * what was refused. The checks run in the RFC's order, before admission and
 * authentication: such a request can never be served, so it costs nothing else.
 * (Malformed requests and other SIP versions never get here: drachtio-server answers them
 * 400 and 505 itself, and drops requests whose method it does not know.)
 */
import type { SipRequest } from './srf.js';
import { warningOf } from './sip-warning.js';

/** The answer to a request refused on inspection. */
export interface InspectionRefusal {
  readonly status: 406 | 415 | 416 | 420;
  readonly reason: string;
  readonly headers: Record<string, string>;
  /** What was refused, for the log and the Warning. */
  readonly detail: string;
}

const SCHEMES = new Set(['sip', 'sips']);
/** Option tags the gateway implements (RFC 4028 session timers); anything else required is refused. */
const SUPPORTED_EXTENSIONS = new Set(['timer']);
const BODY_TYPE = 'application/sdp';

export function inspectRequest(request: Pick<SipRequest, 'method' | 'uri' | 'body' | 'get'>, warningAgent: string): InspectionRefusal | undefined {
  const refusal = uriSchemeRefusal(request.uri) ?? extensionRefusal(request) ?? bodyRefusal(request) ?? acceptRefusal(request);
  if (!refusal) return undefined;
  return { ...refusal, headers: { ...refusal.headers, Warning: warningOf(warningAgent, refusal.detail) } };
}

function uriSchemeRefusal(uri: string): InspectionRefusal | undefined {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  if (scheme !== undefined && SCHEMES.has(scheme)) return undefined;
  return {
    status: 416,
    reason: 'Unsupported URI Scheme',
    headers: {},
    detail: `the Request-URI scheme ${scheme === undefined ? '(none)' : `"${scheme}"`} is not served here; call sip:<meeting>@<host>`,
  };
}

/** §8.2.2.3: every option tag in Require must be one we implement. Proxy-Require is for proxies, not for us. */
function extensionRefusal(request: Pick<SipRequest, 'get'>): InspectionRefusal | undefined {
  const unsupported = optionTags(request.get('Require')).filter((tag) => !SUPPORTED_EXTENSIONS.has(tag.toLowerCase()));
  if (unsupported.length === 0) return undefined;
  return {
    status: 420,
    reason: 'Bad Extension',
    headers: { Unsupported: unsupported.join(', ') },
    detail: `extension not supported: ${unsupported.join(', ')}`,
  };
}

/** §8.2.3: a body must be of a type we read; an absent Content-Type is taken as SDP (as the SDP reader does). */
function bodyRefusal(request: Pick<SipRequest, 'body' | 'get'>): InspectionRefusal | undefined {
  if (!request.body) return undefined;
  const type = mediaType(request.get('Content-Type'));
  if (type === undefined || type === BODY_TYPE) return undefined;
  return {
    status: 415,
    reason: 'Unsupported Media Type',
    headers: { Accept: BODY_TYPE },
    detail: `a ${type} body is not supported; send ${BODY_TYPE}`,
  };
}

/** An INVITE is answered with SDP: its Accept, when it lists types, must allow that (RFC 3261 §21.4.7). */
function acceptRefusal(request: Pick<SipRequest, 'method' | 'get'>): InspectionRefusal | undefined {
  if (request.method !== 'INVITE') return undefined;
  const accepted = (request.get('Accept') ?? '')
    .split(',')
    .map((range) => mediaType(range))
    .filter((range): range is string => range !== undefined);
  if (accepted.length === 0 || accepted.some((range) => range === BODY_TYPE || range === 'application/*' || range === '*/*')) return undefined;
  return {
    status: 406,
    reason: 'Not Acceptable',
    headers: { Accept: BODY_TYPE },
    detail: `the answer is ${BODY_TYPE}, which Accept (${accepted.join(', ')}) rules out`,
  };
}

function optionTags(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((tag) => tag.replace(/\s+/g, ' ').trim())
    .filter((tag) => tag.length > 0);
}

/** `type/subtype` in lower case, parameters dropped; undefined when empty. */
function mediaType(value: string | undefined): string | undefined {
  const type = value?.split(';')[0]?.replace(/\s+/g, '').toLowerCase();
  return type ? type : undefined;
}
