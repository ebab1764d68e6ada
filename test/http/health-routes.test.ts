import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import type { ReadinessCheck } from '../../src/http/readiness.js';
import { memoryApp } from '../support/app.js';

let app: FastifyInstance | undefined;

async function serve(readiness: ReadinessCheck[]) {
  app = await buildApp({ ...memoryApp().deps, readiness });
  const served = app;
  return async (url: string) => {
    const response = await served.inject({ method: 'GET', url });
    return { status: response.statusCode, json: () => response.json() };
  };
}

afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('GET /healthz', () => {
  it('answers 200 while the process is up, even when a component is down', async () => {
    const get = await serve([{ name: 'sip', check: () => 'not connected' }]);
    const response = await get('/healthz');
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });
});

describe('GET /readyz', () => {
  it('answers 200 when every component is ready', async () => {
    const get = await serve([
      { name: 'store', check: async () => undefined },
      { name: 'mediasoup', check: () => undefined },
    ]);
    const response = await get('/readyz');
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ status: 'ready', checks: { store: 'ok', mediasoup: 'ok' } });
  });

  it('answers 503 naming each component that is down and why', async () => {
    const get = await serve([
      { name: 'store', check: async () => { throw new Error('connect ECONNREFUSED 127.0.0.1:6379'); } },
      { name: 'mediasoup', check: () => '1 of 2 mediasoup workers running' },
      { name: 'sip', check: () => undefined },
    ]);
    const response = await get('/readyz');
    expect(response.status).toBe(503);
    const body = response.json() as { status: string; down: string[] };
    expect(body.status).toBe('not ready');
    expect(body.down).toEqual(['store: connect ECONNREFUSED 127.0.0.1:6379', 'mediasoup: 1 of 2 mediasoup workers running']);
  });

  it.each([
    ['draining', 'calls: draining'],
    ['overloaded: 32 call set-ups in flight (SIP_MAX_SETUPS_IN_FLIGHT 32)', 'calls: overloaded: 32 call set-ups in flight (SIP_MAX_SETUPS_IN_FLIGHT 32)'],
  ])('answers 503 while new calls are refused (%s)', async (problem, down) => {
    const get = await serve([{ name: 'store', check: () => undefined }, { name: 'calls', check: () => problem }]);
    const response = await get('/readyz');
    expect(response.status).toBe(503);
    expect((response.json() as { down: string[] }).down).toEqual([down]);
  });

  it('shows an advisory component that is not ok (a trunk that failed to register) without making the node unready', async () => {
    const trunks = 'carrier: failed 3 times (the trunk answered 503 Service Unavailable)';
    const get = await serve([
      { name: 'sip', check: () => undefined },
      { name: 'trunks', check: () => trunks, advisory: true },
    ]);
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { sip: 'ok', trunks } });
  });

  it('names only the components that make the node unready in down, and still shows the advisory ones', async () => {
    const trunks = 'carrier: registering';
    const get = await serve([
      { name: 'sip', check: () => 'not connected to drachtio-server' },
      { name: 'trunks', check: () => trunks, advisory: true },
    ]);
    const notReady = await get('/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.json()).toEqual({ status: 'not ready', down: ['sip: not connected to drachtio-server'], checks: { sip: 'not connected to drachtio-server', trunks } });
  });

  it('does not wait forever on a component that hangs', async () => {
    const get = await serve([{ name: 'store', check: () => new Promise<undefined>(() => {}) }]);
    const started = Date.now();
    const response = await get('/readyz');
    expect(response.status).toBe(503);
    expect((response.json() as { down: string[] }).down).toEqual(['store: store check did not finish within 2000 ms']);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('unknown routes', () => {
  it('answer 404 with a message naming the route', async () => {
    const get = await serve([]);
    const response = await get('/nope?x=1');
    expect(response.status).toBe(404);
    expect(response.json()).toEqual({ error: 'not_found', message: 'no route for GET /nope' });
  });
});
