import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import type { SipCredentialRoutesOptions } from '../../src/http/sip-credential-routes.js';
import { parseAuthorization } from '../../src/sip/digest/authorization-header.js';
import { hashCredential } from '../../src/credentials/digest-hash.js';
import { DigestVerifier } from '../../src/sip/digest/digest-verifier.js';
import { MemoryNonceCountStore } from '../../src/sip/digest/nonce-count-store.js';
import { NonceIssuer } from '../../src/sip/digest/nonce-issuer.js';
import type { SipCredential } from '../../src/store/store.js';
import { apiClient, memoryApp } from '../support/app.js';
import { capturedLogger } from '../support/log-capture.js';
import { digestReply } from '../sip/digest/digest-client.js';

const TOKEN = 'test-api-token-0123456789';
const SIP_DOMAIN = 'sip.example.com';

const apps: FastifyInstance[] = [];
const capture = capturedLogger();
const { store, meetings, sipCredentials: credentials, deps } = memoryApp({ API_TOKEN: TOKEN, SIP_DOMAIN }, capture.log);

/** The routes as the gateway mounts them (under /api, behind the bearer-token hook), over `credentials`. */
async function serve(sipCredentials: SipCredentialRoutesOptions['credentials']) {
  const app = await buildApp({ ...deps, sipCredentials });
  apps.push(app);
  return apiClient(app, TOKEN);
}

let api: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  api = await serve(credentials);
  await meetings.create({ id: 'open-room' });
  await meetings.create({ id: 'closed-room' });
  await meetings.end('closed-room');
});

afterAll(async () => {
  for (const app of apps) await app.close();
});

/** Runs a phone's digest answer to a fresh challenge through the gateway's verifier. */
async function phoneAuthenticates(username: string, password: string, algorithm: 'MD5' | 'SHA-256') {
  const nonces = new NonceIssuer({ secret: 'deployment-wide nonce secret 0123', realm: SIP_DOMAIN });
  const verifier = new DigestVerifier({ realm: SIP_DOMAIN, nonces, nonceCounts: new MemoryNonceCountStore() });
  const uri = `sip:open-room@${SIP_DOMAIN}`;
  const header = digestReply({ layout: 'baresip', username, password, realm: SIP_DOMAIN, nonce: nonces.issue(), method: 'INVITE', uri, algorithm, nc: 1, cnonce: '0a4f113b9c2d5e7f' });
  return verifier.verify({ credentials: parseAuthorization(header), method: 'INVITE', requestUri: uri, credential: await credentials.lookup(username) });
}

describe('POST /api/sip-credentials', () => {
  it('issues a credential whose password answers a digest challenge (MD5 and SHA-256), uncacheable', async () => {
    const { status, body, headers } = await api('/sip-credentials', { method: 'POST', json: {} });
    expect(status).toBe(201);
    expect(body).toEqual({ username: expect.stringMatching(/^u[a-z2-7]{10}$/), password: expect.stringMatching(/^[A-Za-z0-9]{24}$/), sipUri: `sip:<meetingId>@${SIP_DOMAIN}` });
    expect(headers.get('cache-control')).toBe('no-store');

    for (const algorithm of ['MD5', 'SHA-256'] as const) {
      expect(await phoneAuthenticates(body.username, body.password, algorithm)).toEqual({ ok: true, username: body.username, algorithm });
    }
    expect(await phoneAuthenticates(body.username, `${body.password}x`, 'SHA-256')).toEqual({ ok: false, reason: 'wrong-password' });
  });

  it('requires a JSON body, as POST /api/meetings does: {} asks for an unscoped credential', async () => {
    expect(await api('/sip-credentials', { method: 'POST' })).toMatchObject({ status: 400, body: { error: 'bad_request', message: 'body must be object' } });
  });

  it('scopes a credential to an active meeting', async () => {
    const { status, body } = await api('/sip-credentials', { method: 'POST', json: { meetingId: 'open-room' } });
    expect(status).toBe(201);
    expect(body).toMatchObject({ meetingId: 'open-room', sipUri: `sip:open-room@${SIP_DOMAIN}` });
    // The stored scope is what the SIP authenticator holds an INVITE to (test/sip/sip-authenticator.test.ts).
    expect((await credentials.lookup(body.username))?.meetingId).toBe('open-room');
  });

  it('answers 404 for an unknown meeting and 410 for an ended one', async () => {
    expect(await api('/sip-credentials', { method: 'POST', json: { meetingId: 'no-such-room' } })).toMatchObject({
      status: 404,
      body: { error: 'not_found', message: 'meeting "no-such-room" does not exist' },
    });
    expect(await api('/sip-credentials', { method: 'POST', json: { meetingId: 'closed-room' } })).toMatchObject({
      status: 410,
      body: { error: 'gone', message: 'meeting "closed-room" has ended' },
    });
  });

  it.each([
    [{ meetingId: 'a b' }, /body\/meetingId must match pattern/],
    [{ meetingId: 'ab' }, /body\/meetingId must match pattern/],
    [{ meetingId: 42 }, /body\/meetingId must be string/],
    [{ password: 'my-own-choice' }, /body must NOT have additional properties/],
    [[], /body must be object/],
  ])('rejects %j with 400 and the reason', async (json, message) => {
    const { status, body } = await api('/sip-credentials', { method: 'POST', json });
    expect(status).toBe(400);
    expect(body.error).toBe('bad_request');
    expect(body.message).toMatch(message);
  });

  it('rejects a body that is not JSON with 400', async () => {
    const { status, body } = await api('/sip-credentials', { method: 'POST', body: '{nope', headers: { 'content-type': 'application/json' } });
    expect(status).toBe(400);
    expect(body.error).toBe('bad_request');
  });

  it('answers 401 without the bearer token and issues nothing', async () => {
    const before = (await store.listCredentials()).length;
    expect((await api('/sip-credentials', { method: 'POST', json: {}, token: null })).status).toBe(401);
    expect(await store.listCredentials()).toHaveLength(before);
  });
});

describe('GET /api/sip-credentials', () => {
  it('lists every credential without a password or digest anywhere in the response', async () => {
    const scoped = (await api('/sip-credentials', { method: 'POST', json: { meetingId: 'open-room' } })).body;
    const open = (await api('/sip-credentials', { method: 'POST', json: {} })).body;

    const { status, text, body } = await api('/sip-credentials');
    expect(status).toBe(200);
    const listed = body.credentials as Array<{ username: string }>;
    expect(listed.find((c) => c.username === scoped.username)).toEqual({ username: scoped.username, meetingId: 'open-room', createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(listed.find((c) => c.username === open.username)).toEqual({ username: open.username, createdAt: expect.any(String) });

    for (const { username, password } of [scoped, open]) {
      const { ha1Md5, ha1Sha256 } = hashCredential(username, SIP_DOMAIN, password);
      for (const secret of [password, ha1Md5, ha1Sha256]) expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/password|ha1|realm/i);
  });

  it('drops secret fields even if the service handed the routes whole stored records', async () => {
    const leaked: SipCredential = { username: 'uleakyleaky', realm: SIP_DOMAIN, ...hashCredential('uleakyleaky', SIP_DOMAIN, 'pw'), createdAt: 0 };
    const issuedWithDigests = { username: leaked.username, password: 'shown-once', sipUri: 'sip:x@y', ha1Md5: leaked.ha1Md5, ha1Sha256: leaked.ha1Sha256 };
    const leakyApi = await serve({ create: async () => issuedWithDigests, list: async () => [leaked], revoke: async () => {} });

    const list = await leakyApi('/sip-credentials');
    expect(list.body).toEqual({ credentials: [{ username: 'uleakyleaky', createdAt: '1970-01-01T00:00:00.000Z' }] });
    const created = await leakyApi('/sip-credentials', { method: 'POST', json: {} });
    expect(created.body).toEqual({ username: 'uleakyleaky', password: 'shown-once', sipUri: 'sip:x@y' });
    for (const text of [list.text, created.text]) expect(text).not.toMatch(/ha1|realm/i);
  });
});

describe('DELETE /api/sip-credentials/:username', () => {
  it('revokes with 204, then answers 404', async () => {
    const { username, password } = (await api('/sip-credentials', { method: 'POST', json: {} })).body;
    const revoked = await api(`/sip-credentials/${username}`, { method: 'DELETE' });
    expect(revoked.status).toBe(204);
    expect(revoked.text).toBe('');
    expect(await phoneAuthenticates(username, password, 'MD5')).toEqual({ ok: false, reason: 'unknown-user' });
    expect((await api('/sip-credentials')).body.credentials.map((c: { username: string }) => c.username)).not.toContain(username);

    expect(await api(`/sip-credentials/${username}`, { method: 'DELETE' })).toMatchObject({
      status: 404,
      body: { error: 'not_found', message: `SIP credential "${username}" does not exist` },
    });
  });

  it('answers 404 for a username that was never issued', async () => {
    expect((await api('/sip-credentials/unever1234', { method: 'DELETE' })).status).toBe(404);
  });
});

describe('logging', () => {
  it('records creation and revocation by username, never the password', async () => {
    const issued = [
      (await api('/sip-credentials', { method: 'POST', json: {} })).body,
      (await api('/sip-credentials', { method: 'POST', json: { meetingId: 'open-room' } })).body,
    ];
    await api(`/sip-credentials/${issued[0].username}`, { method: 'DELETE' });

    const text = capture.text();
    for (const { username, password } of issued) {
      expect(text).toContain(username); // the capture does see these requests
      expect(text).not.toContain(password);
    }
    expect(capture.lines().filter((line) => line.username === issued[0].username).map((line) => line.msg)).toEqual([
      'SIP credential created',
      'SIP credential revoked',
    ]);
  });
});
