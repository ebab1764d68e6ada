import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { apiClient, memoryApp } from '../support/app.js';

const TOKEN = 'test-api-token-0123456789';
const { store, deps } = memoryApp({ API_TOKEN: TOKEN, PUBLIC_URL: 'https://meet.example.com', SIP_DOMAIN: 'sip.example.com' });
let app: FastifyInstance;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  app = await buildApp(deps);
  api = apiClient(app, TOKEN);
});

afterAll(async () => {
  await app.close();
});

describe('POST /api/meetings', () => {
  it('creates a meeting with the given id and returns its SIP URI and join URL', async () => {
    const { status, body } = await api('/meetings', { method: 'POST', json: { id: 'team-sync', title: 'Team sync', pin: '1234' } });
    expect(status).toBe(201);
    expect(body).toMatchObject({
      id: 'team-sync',
      title: 'Team sync',
      sipUri: 'sip:team-sync@sip.example.com',
      joinUrl: 'https://meet.example.com/m/team-sync',
      hasPin: true,
    });
    expect(body).not.toHaveProperty('pin');
  });

  it('makes up a numeric id and a title when none are given', async () => {
    const { status, body } = await api('/meetings', { method: 'POST', json: {} });
    expect(status).toBe(201);
    expect(body.id).toMatch(/^[1-9][0-9]{9}$/);
    expect(body.title).toBe(`Meeting ${body.id}`);
    expect(body.hasPin).toBe(false);
  });

  it('refuses a duplicate id with 409', async () => {
    await api('/meetings', { method: 'POST', json: { id: 'dup-1' } });
    const { status, body } = await api('/meetings', { method: 'POST', json: { id: 'dup-1' } });
    expect(status).toBe(409);
    expect(body).toEqual({ error: 'conflict', message: 'meeting "dup-1" already exists' });
  });

  it.each([
    [{ id: 'a b' }, /body\/id must match pattern/],
    [{ id: 'ab' }, /body\/id must match pattern/],
    [{ id: 'x'.repeat(65) }, /body\/id must match pattern/],
    [{ id: 'ok-id', pin: '12' }, /body\/pin must match pattern/],
    [{ title: '' }, /body\/title must NOT have fewer than 1 characters/],
    [{ id: 'ok-id', colour: 'red' }, /body must NOT have additional properties/],
    [{ id: 42 }, /body\/id must be string/],
  ])('rejects %j with 400 and the reason', async (json, message) => {
    const { status, body } = await api('/meetings', { method: 'POST', json });
    expect(status).toBe(400);
    expect(body.error).toBe('bad_request');
    expect(body.message).toMatch(message);
  });

  it('rejects a body that is not JSON with 400', async () => {
    const { status, body } = await api('/meetings', { method: 'POST', body: '{nope', headers: { 'content-type': 'application/json' } });
    expect(status).toBe(400);
    expect(body.error).toBe('bad_request');
  });

  it('rejects an oversized body with 413', async () => {
    const { status, body } = await api('/meetings', { method: 'POST', json: { title: 'x'.repeat(70_000) } });
    expect(status).toBe(413);
    expect(body.error).toBe('too_large');
  });
});

describe('GET /api/meetings', () => {
  it('lists meetings, and GET /api/meetings/:id shows one with its participants', async () => {
    await api('/meetings', { method: 'POST', json: { id: 'listed-1', title: 'Listed' } });
    const list = await api('/meetings');
    expect(list.status).toBe(200);
    expect(list.body.meetings.map((m: { id: string }) => m.id)).toContain('listed-1');

    await store.putParticipant({ id: 'p-1', meetingId: 'listed-1', displayName: 'Ada', kind: 'phone', muted: true, nodeId: 'n', joinedAt: 0 });
    const one = await api('/meetings/listed-1');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: 'listed-1', title: 'Listed' });
    expect(one.body.participants).toEqual([{ id: 'p-1', displayName: 'Ada', kind: 'phone', muted: true, joinedAt: '1970-01-01T00:00:00.000Z' }]);
  });

  it('answers 404 for an unknown meeting and for an id that cannot exist', async () => {
    expect(await api('/meetings/no-such-meeting')).toMatchObject({ status: 404, body: { error: 'not_found', message: 'meeting "no-such-meeting" does not exist' } });
    expect((await api('/meetings/%20bad%20')).status).toBe(404);
  });
});

describe('DELETE /api/meetings/:id', () => {
  it('ends the meeting; it stays listed as ended and cannot be ended again', async () => {
    await api('/meetings', { method: 'POST', json: { id: 'ending-1' } });
    const ended = await api('/meetings/ending-1', { method: 'DELETE' });
    expect(ended.status).toBe(200);
    expect(ended.body.endedAt).toMatch(/^\d{4}-/);
    expect((await api('/meetings/ending-1')).body.endedAt).toBe(ended.body.endedAt);
    expect(await api('/meetings/ending-1', { method: 'DELETE' })).toMatchObject({ status: 410, body: { error: 'gone', message: 'meeting "ending-1" has ended' } });
    expect((await api('/meetings', { method: 'POST', json: { id: 'ending-1' } })).status).toBe(409);
  });

  it('answers 404 for an unknown meeting', async () => {
    expect((await api('/meetings/unknown-9', { method: 'DELETE' })).status).toBe(404);
  });
});

describe('DELETE /api/meetings/:id/participants/:participantId', () => {
  it('answers 404 with a message for an unknown meeting, and for a participant this node does not have', async () => {
    await api('/meetings', { method: 'POST', json: { id: 'nobody-here' } });
    expect(await api('/meetings/no-such-meeting/participants/p-1', { method: 'DELETE' })).toMatchObject({
      status: 404,
      body: { error: 'not_found', message: 'meeting "no-such-meeting" does not exist' },
    });
    expect(await api('/meetings/nobody-here/participants/p-1', { method: 'DELETE' })).toMatchObject({
      status: 404,
      body: { error: 'not_found', message: 'no participant "p-1" in meeting "nobody-here" on this node' },
    });
  });

  it('needs the API token', async () => {
    expect((await api('/meetings/nobody-here/participants/p-1', { method: 'DELETE', token: null })).status).toBe(401);
  });
});

describe('API authentication', () => {
  it('answers 401 without a bearer token, naming the header to send', async () => {
    const { status, body, headers } = await api('/meetings', { token: null });
    expect(status).toBe(401);
    expect(body).toEqual({ error: 'unauthorized', message: 'missing bearer token (Authorization: Bearer <API_TOKEN>)' });
    expect(headers.get('www-authenticate')).toBe('Bearer realm="api"');
  });

  it('answers 401 for a wrong token', async () => {
    expect(await api('/meetings', { token: 'wrong-token-000000000000' })).toMatchObject({ status: 401, body: { message: 'invalid bearer token' } });
  });

  it('leaves health endpoints open', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

describe('API without API_TOKEN', () => {
  let open: FastifyInstance;
  let openApi: ReturnType<typeof apiClient>;
  beforeAll(async () => {
    open = await buildApp(memoryApp().deps);
    openApi = apiClient(open);
  });
  afterAll(async () => {
    await open.close();
  });

  it('answers on loopback without a token', async () => {
    expect((await openApi('/meetings', { remoteAddress: '127.0.0.1' })).status).toBe(200);
  });

  it('refuses clients that are not on loopback with 403 and says why', async () => {
    expect(await openApi('/meetings', { remoteAddress: '198.51.100.20' })).toMatchObject({
      status: 403,
      body: { error: 'forbidden', message: 'API_TOKEN is not set, so the API answers only on loopback' },
    });
  });

  it('treats IPv6 loopback and IPv4-mapped loopback as loopback', async () => {
    for (const remoteAddress of ['::1', '::ffff:127.0.0.1']) {
      expect((await openApi('/meetings', { remoteAddress })).status).toBe(200);
    }
  });
});
