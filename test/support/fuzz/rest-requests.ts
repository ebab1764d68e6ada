/**
 * Generated HTTP requests for the fuzz tests: every route of the REST API, the Twilio
 * webhooks, the health and page routes, the API document and Swagger UI, and paths that are
 * none of them, with every method, content types that lie, bodies that are not JSON or not
 * the schema's (hostile values, prototype keys, deep nesting, bad UTF-8, beyond the 64 KiB
 * body limit).
 * POST /api/admin/drain is left out: it is meant to stop the gateway.
 */
import fc from 'fast-check';
import { anyText, badUtf8, controlText, numberText } from './hostile-values.js';

export interface RestRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD' | 'OPTIONS';
  /** Path and query, already encoded as sent. */
  readonly url: string;
  readonly contentType: string | undefined;
  readonly body: string | Uint8Array | undefined;
}

/** Meetings the requests never end (the fuzz runs calls in them). */
export const PROTECTED_MEETINGS = new Set(['fuzz-room', 'healthy-room']);

const segment: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z0-9-]{1,20}$/).filter((id) => !PROTECTED_MEETINGS.has(id)) },
  { weight: 1, arbitrary: fc.constantFrom('..', '%2e%2e', '%00', '%ff', '%', 'a%2Fb', '+14155550123', '%2B1', 'x'.repeat(3000), '', '__proto__', 'constructor') },
  { weight: 1, arbitrary: anyText.map((text) => encodeURIComponent(text.replace(/[\uD800-\uDFFF]/g, ''))) },
);

const query: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('limit', 'wrong', 'meeting', 'x', '__proto__'), fc.oneof(numberText, segment)).map(([k, v]) => `?${k}=${encodeURIComponent(v)}`) },
  { weight: 1, arbitrary: fc.constantFrom('?', '?&&', '?limit=1&limit=2', '?a[b]=c', '?%zz') },
);

const path: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('/api/meetings', '/api/trunks', '/api/sip-credentials', '/api/phone-numbers', '/api/twilio/calls', '/api/media', '/api/mixer', '/healthz', '/readyz', '/twilio/voice', '/twilio/status', '/twilio/voice/meeting-id', '/twilio/voice/pin', '/', '/api', '/api/'),
  segment.map((id) => `/api/meetings/${id}`),
  segment.map((id) => `/api/sip-credentials/${id}`),
  segment.map((id) => `/api/phone-numbers/${id}`),
  segment.map((id) => `/api/trunks/${id}`),
  segment.map((id) => `/api/meetings/${id}/dial-out`),
  fc.tuple(segment, fc.constantFrom('', '/mute', '/unmute')).map(([id, action]) => `/api/calls/${id}${action}`),
  fc.tuple(segment, segment).map(([id, participantId]) => `/api/meetings/${id}/participants/${participantId}`),
  segment.map((id) => `/m/${id}`),
  segment.map((id) => `/ws/meetings/${id}`),
  fc.constantFrom('/docs', '/docs/', '/docs/json', '/docs/yaml'),
  segment.map((file) => `/docs/static/${file}`),
  fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
);

const jsonish: fc.Arbitrary<unknown> = fc.oneof(numberText, anyText, controlText, fc.constantFrom(null, true, 0, -1, 1e308, [], {}, ''), fc.jsonValue({ maxDepth: 2 }));

const jsonBody: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ id: jsonish, title: jsonish, pin: jsonish, meetingId: jsonish }, { requiredKeys: [] }).map((body) => JSON.stringify(body)) },
  { weight: 2, arbitrary: fc.record({ id: fc.stringMatching(/^[a-z0-9-]{3,20}$/), title: fc.string({ maxLength: 200 }), pin: fc.stringMatching(/^[0-9]{4,10}$/) }, { requiredKeys: [] }).map((body) => JSON.stringify(body)) },
  { weight: 1, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value) ?? 'null') },
  { weight: 1, arbitrary: fc.constantFrom('', '{', '{"id":', 'null', '[]', '"x"', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', '{"id":"a","id":"b"}') },
  { weight: 1, arbitrary: fc.constantFrom(100, 10_000).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`) },
  { weight: 1, arbitrary: fc.constantFrom(65_537, 200_000).map((size) => JSON.stringify({ title: 'x'.repeat(size) })) },
);

const formBody: fc.Arbitrary<string> = fc
  .record({ CallSid: fc.oneof(fc.constant('CA0123456789abcdef'), anyText), From: fc.oneof(fc.constant('+14155550123'), anyText), To: anyText, Digits: anyText, CallStatus: anyText, CallDuration: numberText }, { requiredKeys: [] })
  .map((fields) => new URLSearchParams(Object.entries(fields).map(([k, v]): [string, string] => [k, v.replace(/[\uD800-\uDFFF]/g, '')])).toString());

/** A request to the gateway's HTTP side. */
export const restRequest: fc.Arbitrary<RestRequest> = fc
  .record({
    method: fc.constantFrom('GET' as const, 'POST' as const, 'PUT' as const, 'DELETE' as const, 'PATCH' as const, 'HEAD' as const, 'OPTIONS' as const),
    path,
    query,
    contentType: fc.option(fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/xml', ';;;', 'application/json\u0000'), { nil: undefined }),
    body: fc.option(fc.oneof({ weight: 4, arbitrary: jsonBody }, { weight: 2, arbitrary: formBody }, { weight: 1, arbitrary: badUtf8 }, { weight: 1, arbitrary: anyText }), { nil: undefined }),
  })
  .filter(({ method, path }) => !(method === 'POST' && /^\/api\/admin\/drain/.test(path)))
  .map(({ method, path, query, contentType, body }) => ({
    method,
    url: `${path}${query}`,
    // GET and HEAD carry no body over the wire (fetch refuses one).
    contentType: method === 'GET' || method === 'HEAD' ? undefined : contentType,
    body: method === 'GET' || method === 'HEAD' ? undefined : body,
  }));

/** The meeting page and its assets answer people, in HTML; everything else answers programs, in JSON. */
const PAGE_PATHS = /^\/(m\/|assets\/|$)/;

/**
 * Why an answer is not a defined one, or undefined when it is: never a 5xx, and every 4xx
 * a JSON `{error, message}` (a HEAD answer has no body to check, a page's 404 is HTML).
 */
export function restAnswerProblem(method: string, url: string, status: number, contentType: string | undefined, body: string): string | undefined {
  if (status >= 500) return `status ${status}`;
  if (status < 400 || method === 'HEAD' || PAGE_PATHS.test(url)) return undefined;
  if (!/^application\/json/.test(contentType ?? '')) return `a ${status} of content type ${contentType}`;
  try {
    const parsed = JSON.parse(body) as { error?: unknown; message?: unknown };
    if (typeof parsed.error !== 'string' || typeof parsed.message !== 'string' || parsed.message === '') return `a ${status} without error and message: ${body.slice(0, 200)}`;
  } catch {
    return `a ${status} whose body is not JSON: ${body.slice(0, 200)}`;
  }
  return undefined;
}
