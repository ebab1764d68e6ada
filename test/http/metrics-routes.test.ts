import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { memoryApp } from '../support/app.js';
import { parsePrometheusText } from '../support/prometheus-text.js';

const TOKEN = 'metrics-token-0123456789';
let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

const scrape = (target: FastifyInstance, options: { token?: string; remoteAddress?: string } = {}) =>
  target.inject({
    method: 'GET',
    url: '/metrics',
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    ...(options.remoteAddress && { remoteAddress: options.remoteAddress }),
  });

describe('GET /metrics', () => {
  it('serves the Prometheus text format, with every request before it timed by route pattern', async () => {
    app = await buildApp(memoryApp().deps);
    await app.inject({ method: 'GET', url: '/api/meetings/no-such-meeting' });
    await app.inject({ method: 'GET', url: '/no/such/route' });
    const response = await scrape(app);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const metrics = parsePrometheusText(response.body);
    expect(metrics.types.get('gateway_sip_invites_received_total')).toBe('counter');
    expect(metrics.value('gateway_http_request_duration_seconds_count', { method: 'GET', route: '/api/meetings/:id', status_code: '404' })).toBe(1);
    expect(metrics.value('gateway_http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' })).toBe(1);
    // The filled-in path never becomes a label.
    expect(response.body).not.toContain('no-such-meeting');
  });

  it('without METRICS_TOKEN, answers on loopback only and says why elsewhere', async () => {
    app = await buildApp(memoryApp().deps);
    for (const remoteAddress of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) expect((await scrape(app, { remoteAddress })).statusCode).toBe(200);
    const refused = await scrape(app, { remoteAddress: '198.51.100.20' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toEqual({ error: 'forbidden', message: 'METRICS_TOKEN is not set, so /metrics answers only on loopback' });
  });

  it('with METRICS_TOKEN, wants that bearer token from everyone, and not the API token', async () => {
    const { deps } = memoryApp({ METRICS_TOKEN: TOKEN, API_TOKEN: 'api-token-0123456789abc' });
    app = await buildApp(deps);
    expect((await scrape(app, { token: TOKEN, remoteAddress: '198.51.100.20' })).statusCode).toBe(200);
    const missing = await scrape(app);
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect(missing.json().message).toBe('missing bearer token (Authorization: Bearer <METRICS_TOKEN>)');
    expect((await scrape(app, { token: 'api-token-0123456789abc' })).statusCode).toBe(401);
    expect((await scrape(app, { token: `${TOKEN}x` })).json()).toMatchObject({ error: 'unauthorized', message: 'invalid bearer token' });
  });
});
