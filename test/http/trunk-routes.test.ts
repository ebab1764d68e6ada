/** /api/trunks over a memory store: a trunk is created, listed, read and deleted; its password never comes back, nor reaches the log. */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { apiClient, memoryApp } from '../support/app.js';
import { capturedLogger } from '../support/log-capture.js';

const TOKEN = 'test-api-token-0123456789';
const PASSWORD = 'trunk-secret-Zq81x';
const logs = capturedLogger();
const { deps } = memoryApp({ API_TOKEN: TOKEN }, logs.log);
let app: FastifyInstance;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  app = await buildApp(deps);
  api = apiClient(app, TOKEN);
});

afterAll(async () => {
  await app.close();
});

describe('/api/trunks', () => {
  it('creates a trunk and shows it without its password; lists, reads and deletes it', async () => {
    const created = await api('/trunks', {
      method: 'POST',
      json: { id: 'carrier', address: 'sip:sip.example.net:5070;transport=tcp', username: 'acct', password: PASSWORD, callerId: '+4930123456', allowedPrefixes: ['+49', '+33'] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: 'carrier',
      address: 'sip:sip.example.net:5070;transport=tcp',
      username: 'acct',
      hasPassword: true,
      callerId: '+4930123456',
      allowedPrefixes: ['+49', '+33'],
      createdAt: expect.any(String),
    });
    const listed = await api('/trunks');
    expect(listed.body).toEqual({ trunks: [created.body] });
    expect((await api('/trunks/carrier')).body).toEqual(created.body);
    for (const answer of [created, listed]) expect(answer.text).not.toContain(PASSWORD);
    expect(logs.text()).not.toContain(PASSWORD);

    expect((await api('/trunks/carrier', { method: 'DELETE' })).status).toBe(204);
    expect((await api('/trunks/carrier')).status).toBe(404);
    expect((await api('/trunks/carrier', { method: 'DELETE' })).status).toBe(404);
  });

  it('takes sip:, sip:...;transport=tls and sips: addresses; refuses a duplicate id (409), a bad address, a username without password and a bad prefix (400)', async () => {
    expect((await api('/trunks', { method: 'POST', json: { id: 'dup', address: 'sip:10.0.0.1' } })).status).toBe(201);
    const duplicate = await api('/trunks', { method: 'POST', json: { id: 'dup', address: 'sip:10.0.0.2' } });
    expect(duplicate).toMatchObject({ status: 409, body: { message: 'trunk "dup" already exists' } });
    const badAddress = await api('/trunks', { method: 'POST', json: { id: 't2', address: 'sip:10.0.0.1;transport=sctp' } });
    expect(badAddress).toMatchObject({ status: 400, body: { message: '"address" must be sip:host[:port][;transport=udp|tcp|tls] or sips:host[:port]' } });
    const sipsOverTcp = await api('/trunks', { method: 'POST', json: { id: 't5', address: 'sips:10.0.0.1;transport=tcp' } });
    expect(sipsOverTcp.status, 'sips: is TLS only').toBe(400);
    for (const [id, address] of [['tls1', 'sips:sip.example.net'], ['tls2', 'sip:10.0.0.1:5071;transport=tls'], ['tls3', 'sips:[2001:db8::1]:5061;transport=tls']]) {
      expect((await api('/trunks', { method: 'POST', json: { id, address } })).status, address).toBe(201);
    }
    const noPassword = await api('/trunks', { method: 'POST', json: { id: 't3', address: 'sip:10.0.0.1', username: 'acct' } });
    expect(noPassword).toMatchObject({ status: 400, body: { message: '"username" and "password" go together' } });
    const badPrefix = await api('/trunks', { method: 'POST', json: { id: 't4', address: 'sip:10.0.0.1', allowedPrefixes: ['49x'] } });
    expect(badPrefix).toMatchObject({ status: 400, body: { message: 'allowed prefix "49x" is not digits with an optional leading +' } });
  });
});
