/**
 * REGISTER with a trunk (`register: {expires}`) through drachtio (the stand-in, or a real
 * drachtio-server with DRACHTIO_SERVER_BIN) to a test registrar: the digest challenge
 * answered with the trunk's credentials, the state in GET /api/trunks/:id and /readyz, the refresh
 * before the binding runs out, a retry after a failure, and the binding removed when the
 * trunk is deleted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway } from '../support/gateway.js';
import { capturedLogger } from '../support/log-capture.js';
import { expectedResponse, parseDigest } from '../support/sip/digest.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { header, parseSipMessage, responseTo, type SipRequest } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isRequest } from '../support/sip/sip-peer.js';
import { until } from '../support/until.js';
import { answerJson } from '../support/json-api.js';

const PASSWORD = 'registrar-pass-8Hq2';
const logs = capturedLogger();
let target: DrachtioTarget;
let gateway: Gateway;
let registrar: SipPeer;

beforeAll(async () => {
  target = await drachtioTarget();
  gateway = await startSipTestGateway(target, { RTP_MIN_PORT: '47500', RTP_MAX_PORT: '47599' }, logs.log);
  registrar = await SipPeer.udp(target.sipAddress);
});

afterAll(async () => {
  await registrar?.close();
  await gateway?.close();
  await target?.close();
});

interface TrunkView {
  readonly registration?: { readonly state: string; readonly failures: number; readonly expiresAt?: string; readonly sipStatus?: number };
}

const api = (method: string, path: string, body?: unknown) => answerJson(`${gateway.httpUrl}/api`, method, path, body);

async function readyz(): Promise<{ status: number; trunks: string | undefined }> {
  const response = await fetch(`${gateway.httpUrl}/readyz`);
  const body = (await response.json()) as { checks: Record<string, string> };
  return { status: response.status, trunks: body.checks.trunks };
}

const trunkView = async () => (await api('GET', '/trunks/registering')).json as TrunkView;
const request = (m: ReceivedSip) => parseSipMessage(m.text) as SipRequest;
const challenge = 'WWW-Authenticate: Digest realm="registrar", nonce="c0ffee01", qop="auth", algorithm=MD5';

/** Answers the next REGISTER with a challenge, checks the digest of the one after it, and returns that one. */
async function authenticatedRegister(): Promise<ReceivedSip> {
  const first = await registrar.next(isRequest('REGISTER'), 5000);
  registrar.send(responseTo(request(first), 401, 'Unauthorized', { extraHeaders: [challenge] }));
  const second = await registrar.next(isRequest('REGISTER'));
  const credentials = parseDigest(header(second.text, 'Authorization') ?? '');
  expect(credentials).toMatchObject({ username: 'gw-account', realm: 'registrar', nonce: 'c0ffee01' });
  expect(credentials.response).toBe(expectedResponse('REGISTER', PASSWORD, credentials));
  return second;
}

describe('a trunk that registers', () => {
  it('REGISTERs with digest, shows registered, refreshes before expiry, retries after a failure, and unregisters when deleted', { timeout: 30_000 }, async () => {
    const created = await api('POST', '/trunks', {
      id: 'registering',
      address: `sip:127.0.0.1:${registrar.port}`,
      username: 'gw-account',
      password: PASSWORD,
      register: { expires: 10 },
    });
    expect(created.status).toBe(201);

    expect(await readyz()).toEqual({ status: 200, trunks: 'registering: registering' });
    const register = await authenticatedRegister();
    expect(header(register.text, 'To')).toBe('<sip:gw-account@127.0.0.1>');
    expect(header(register.text, 'Expires')).toBe('10');
    expect(header(register.text, 'Contact')).toMatch(/^<sip:gw-account@127\.0\.0\.1:\d+>$/);
    registrar.send(responseTo(request(register), 200, 'OK', { extraHeaders: [`Contact: ${header(register.text, 'Contact')};expires=5`] }));
    await until(async () => (await trunkView()).registration?.state === 'registered', 2000, 'registered');
    const { registration } = await trunkView();
    expect(Date.parse(registration!.expiresAt!) - Date.now()).toBeLessThanOrEqual(5000);
    expect(await readyz()).toEqual({ status: 200, trunks: 'ok' });

    // Refreshed at 80 % of the granted 5 s; this one fails, and is tried again a second later.
    const refresh = await registrar.next(isRequest('REGISTER'), 6000);
    registrar.send(responseTo(request(refresh), 503, 'Service Unavailable'));
    await until(async () => (await trunkView()).registration?.state === 'failed', 2000, 'the failure shown');
    expect((await trunkView()).registration).toMatchObject({ state: 'failed', failures: 1, sipStatus: 503 });
    // Shown, but the node stays ready: the trunk's registrar is down, not this node.
    expect(await readyz()).toEqual({ status: 200, trunks: 'registering: failed once (the trunk answered 503 Service Unavailable)' });
    const retry = await authenticatedRegister();
    registrar.send(responseTo(request(retry), 200, 'OK', { extraHeaders: ['Expires: 60'] }));
    await until(async () => (await trunkView()).registration?.state === 'registered', 2000, 'registered again');

    expect((await api('DELETE', '/trunks/registering')).status).toBe(204);
    const unregister = await registrar.next(isRequest('REGISTER'));
    expect(header(unregister.text, 'Expires')).toBe('0');
    registrar.send(responseTo(request(unregister), 200, 'OK'));
    expect(logs.text()).not.toContain(PASSWORD);
  });
});
