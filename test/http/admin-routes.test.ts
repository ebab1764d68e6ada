import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { Drain } from '../../src/drain.js';
import { buildApp } from '../../src/http/app.js';
import { memoryApp } from '../support/app.js';

const API_TOKEN = 'admin-token-0123456789';

let app: FastifyInstance | undefined;
let drain: Drain | undefined;

afterEach(async () => {
  drain?.stop();
  await app?.close();
  app = undefined;
});

describe('POST /api/admin/drain', () => {
  async function serve() {
    let admitting = true;
    const { deps, config } = memoryApp({ API_TOKEN, DRAIN_SECONDS: '120' });
    const started = new Drain({
      stopAdmitting: () => (admitting = false),
      live: () => ({ setupsInFlight: 0, calls: 1, participants: 2 }),
      relayedCalls: async () => 0,
      endRelays: () => undefined,
      close: async () => undefined,
      drainMs: config.drainMs,
      log: deps.log,
    });
    drain = started;
    app = await buildApp({ ...deps, drain: () => started.start() });
    return { app, admitting: () => admitting };
  }

  it('is refused without the API token, and nothing is drained', async () => {
    const { app, admitting } = await serve();
    const response = await app.inject({ method: 'POST', url: '/api/admin/drain' });
    expect(response.statusCode).toBe(401);
    expect(admitting()).toBe(true);
  });

  it('starts the drain: 202 with its state, and again 202 with the same start and deadline', async () => {
    const { app, admitting } = await serve();
    const headers = { authorization: `Bearer ${API_TOKEN}` };
    const first = await app.inject({ method: 'POST', url: '/api/admin/drain', headers });
    expect(first.statusCode).toBe(202);
    const state = first.json() as Record<string, unknown>;
    expect(state).toMatchObject({ state: 'draining', setupsInFlight: 0, calls: 1, participants: 2, relayedCalls: 0 });
    expect(Date.parse(state.deadline as string) - Date.parse(state.startedAt as string)).toBe(120_000);
    expect(admitting()).toBe(false);

    const again = await app.inject({ method: 'POST', url: '/api/admin/drain', headers });
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual(state);
  });
});
