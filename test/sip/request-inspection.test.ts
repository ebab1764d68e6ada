/** The gateway's RFC 3261 §8.2.2–8.2.3 checks: one refusal each, in the RFC's order, and what passes. */
import { describe, expect, it } from 'vitest';
import { inspectRequest } from '../../src/sip/request-inspection.js';

function request(method: string, uri: string, headers: Record<string, string> = {}, body = '') {
  const byName = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  return { method, uri, body, get: (name: string) => byName.get(name.toLowerCase()) };
}

const SDP = 'v=0\r\n';

describe('request inspection', () => {
  it.each([
    { name: 'an unknown Request-URI scheme (RFC 4475 unkscm)', req: request('OPTIONS', 'nobodyKnowsThisScheme:totallyopaquecontent'), status: 416, headers: {} },
    { name: 'a tel: Request-URI', req: request('INVITE', 'tel:+15551234567'), status: 416, headers: {} },
    { name: 'a Require we do not implement (RFC 4475 bext01)', req: request('OPTIONS', 'sip:m@h', { Require: 'nothingSupportsThis, nothingSupportsThisEither', 'Proxy-Require': 'x' }), status: 420, headers: { Unsupported: 'nothingSupportsThis, nothingSupportsThisEither' } },
    { name: 'a body that is not SDP (RFC 4475 invut)', req: request('INVITE', 'sip:m@h', { 'Content-Type': 'application/unknownformat' }, '<audio/>'), status: 415, headers: { Accept: 'application/sdp' } },
    { name: 'an Accept without SDP on an INVITE (RFC 4475 sdp01)', req: request('INVITE', 'sip:m@h', { Accept: 'text/nobodyKnowsThis', 'Content-Type': 'application/sdp' }, SDP), status: 406, headers: { Accept: 'application/sdp' } },
    { name: 'unknown scheme and Require together: the scheme first', req: request('OPTIONS', 'im:x@y', { Require: 'foo' }), status: 416, headers: {} },
  ])('refuses $name with $status and a Warning', ({ req, status, headers }) => {
    const refusal = inspectRequest(req, 'gw.example.com');
    expect(refusal?.status).toBe(status);
    expect(refusal?.headers).toMatchObject(headers);
    expect(refusal?.headers.Warning).toMatch(/^399 gw\.example\.com ".+"$/);
  });

  it.each([
    { name: 'an ordinary INVITE with SDP', req: request('INVITE', 'sip:m@h', { 'Content-Type': 'application/sdp; charset=utf-8', Accept: 'application/sdp, application/dtmf-relay' }, SDP) },
    { name: 'sips:, Require: timer, Accept: */*', req: request('INVITE', 'SIPS:m@h', { Require: 'Timer', Accept: '*/*' }) },
    { name: 'an OPTIONS whose Accept leaves SDP out (its 200 carries no body)', req: request('OPTIONS', 'sip:m@h', { Accept: 'text/plain' }) },
    { name: 'a body without Content-Type (read as SDP)', req: request('INVITE', 'sip:m@h', {}, SDP) },
  ])('lets $name through', ({ req }) => {
    expect(inspectRequest(req, 'gw.example.com')).toBeUndefined();
  });

  it('keeps a hostile Require from breaking the Warning: quotes escaped, folding collapsed', () => {
    const refusal = inspectRequest(request('OPTIONS', 'sip:m@h', { Require: 'a"b,\r\n c\\d' }), 'gw');
    expect(refusal?.headers).toMatchObject({ Unsupported: 'a"b, c\\d', Warning: '399 gw "extension not supported: a\\"b, c\\\\d"' });
  });
});
