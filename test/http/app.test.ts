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

  it('fails, naming the file, when the web assets were not built', async () => {
    const emptyDir = await mkdtemp(join(tmpdir(), 'app-no-assets-'));
    try {
      await expect(buildApp({ ...memoryApp().deps, webAssetsDir: emptyDir })).rejects.toThrow(/web asset meeting\.html is missing/);
    } finally {
      await rm(emptyDir, { recursive: true, force: true });
    }
  });
});
