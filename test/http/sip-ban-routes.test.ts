/**
 * GET and DELETE /api/sip/bans over a real SIP guard on the memory store, behind the
 * API's bearer token like every /api route.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { apiClient, memoryApp } from '../support/app.js';

const TOKEN = 'test-api-token-0123456789';
const { sipGuard, deps } = memoryApp({ API_TOKEN: TOKEN, SIP_AUTH_MAX_FAILURES: '5' });
let app: FastifyInstance;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  app = await buildApp(deps);
  api = apiClient(app, TOKEN);
});

afterAll(async () => {
  await app.close();
  sipGuard.close();
});

async function failFiveTimes(source: string): Promise<void> {
  for (let i = 0; i < 5; i++) await sipGuard.failed({ source, username: 'u', reason: 'wrong-password' });
}

describe('/api/sip/bans', () => {
  it('lists the bans running, with when and why', async () => {
    await failFiveTimes('203.0.113.5');
    await failFiveTimes('2001:db8::5');
    const { status, body } = await api('/sip/bans');
    expect(status).toBe(200);
    expect(body.bans).toEqual(
      expect.arrayContaining([
        {
          address: '203.0.113.5',
          bannedAt: expect.stringMatching(/Z$/),
          until: expect.stringMatching(/Z$/),
          failures: 5,
          reason: '5 failed authentications in 300 s',
          strike: 1,
        },
        expect.objectContaining({ address: '2001:db8::5' }),
      ]),
    );
    const ban = body.bans.find((b: { address: string }) => b.address === '203.0.113.5');
    expect(Date.parse(ban.until) - Date.parse(ban.bannedAt)).toBe(900_000);
  });

  it('lifts a ban with DELETE: 204, then it is gone; 404 for an address not banned', async () => {
    await failFiveTimes('203.0.113.6');
    expect((await api('/sip/bans/203.0.113.6', { method: 'DELETE' })).status).toBe(204);
    expect((await api('/sip/bans')).body.bans.map((b: { address: string }) => b.address)).not.toContain('203.0.113.6');
    const again = await api('/sip/bans/203.0.113.6', { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(again.body).toEqual({ error: 'not_found', message: '203.0.113.6 is not banned' });
  });

  it('takes an IPv6 address in the path', async () => {
    await failFiveTimes('2001:db8::7');
    expect((await api(`/sip/bans/${encodeURIComponent('2001:db8::7')}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('answers 400 for something that is not an address', async () => {
    const answer = await api('/sip/bans/not-an-ip', { method: 'DELETE' });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: 'bad_request', message: '"not-an-ip" is not an IPv4 or IPv6 address' });
  });

  it('is behind the API token', async () => {
    expect((await api('/sip/bans', { token: null })).status).toBe(401);
    expect((await api('/sip/bans/203.0.113.5', { method: 'DELETE', token: 'wrong-token-0123456789' })).status).toBe(401);
  });
});
