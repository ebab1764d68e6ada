import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, buildHttpApp } from '../../src/http/app.js';
import { capturedLogger } from '../support/log-capture.js';
import { memoryApp } from '../support/app.js';
import { until } from '../support/until.js';

describe('buildApp', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildApp(memoryApp().deps);
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it.each([
    ['GET', '/healthz'],
    ['GET', '/readyz'],
    ['GET', '/api/meetings'],
    ['DELETE', '/api/meetings/:id/participants/:participantId'],
    ['POST', '/api/calls/:callId/mute'],
    ['POST', '/api/calls/:callId/unmute'],
    ['POST', '/api/sip-credentials'],
    ['GET', '/api/mixer'],
    ['GET', '/api/phone-numbers'],
    ['GET', '/api/twilio/calls'],
    ['POST', '/twilio/voice'],
    ['POST', '/twilio/status'],
    ['GET', '/ws/meetings/:meetingId'],
    ['GET', '/m/:meetingId'],
    ['GET', '/assets/*'],
  ] as const)('registers %s %s', (method, url) => {
    expect(app.hasRoute({ method, url })).toBe(true);
  });

  it('answers a plain GET of the signaling WebSocket with 426 and a JSON error saying how to connect', async () => {
    const response = await app.inject({ method: 'GET', url: '/ws/meetings/team-sync' });
    expect(response.statusCode).toBe(426);
    expect(response.headers.upgrade).toBe('websocket');
    expect(response.json()).toEqual({ error: 'upgrade_required', message: 'this is a WebSocket endpoint: connect with Upgrade: websocket' });
  });

  it('fails, naming the file, when the web assets were not built', async () => {
    const emptyDir = await mkdtemp(join(tmpdir(), 'app-no-assets-'));
    try {
      await expect(buildApp({ ...memoryApp().deps, webAssetsDir: emptyDir })).rejects.toThrow(/web asset meeting\.html is missing/);
    } finally {
      await rm(emptyDir, { recursive: true, force: true });
    }
  });
});

describe('closing', () => {
  it('does not wait for a connection that never sent a request (a browser\'s preconnect), nor keep the connection of a request in flight, which is still answered', async () => {
    const app = await buildHttpApp(capturedLogger().log);
    let answer!: () => void;
    app.get('/slow', (_request, reply) => new Promise<void>((resolve) => (answer = () => resolve(void reply.send({ ok: true })))));
    const address = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
    const silent = connect(Number(address.port), address.hostname);
    await new Promise((resolve) => silent.once('connect', resolve));
    const silentClosed = new Promise((resolve) => silent.once('close', resolve));
    const slow = fetch(new URL('/slow', address));
    await until(() => answer !== undefined, 2000, 'the slow request taken up');

    const started = performance.now();
    const closed = app.close();
    await silentClosed;
    answer();
    expect((await (await slow).json()) as unknown).toEqual({ ok: true });
    await closed;
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
