import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { memoryApp } from '../support/app.js';

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
