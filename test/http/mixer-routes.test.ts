import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildHttpApp } from '../../src/http/app.js';
import { mixerRoutes } from '../../src/http/mixer-routes.js';
import { MixerClock } from '../../src/media/mixer/mixer-clock.js';
import { capturedLogger } from '../support/log-capture.js';
import { VirtualTime } from '../support/virtual-time.js';

let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('GET /api/mixer', () => {
  it('reports the mixers ticking and how late their ticks ran', async () => {
    let timers = 0;
    const time = new VirtualTime(() => (++timers % 100 === 0 ? 9 : 1)); // every 100th tick 9 ms late, the others 1 ms
    const clock = new MixerClock(time);
    let ticks = 0;
    clock.join({ tick: () => ticks++ });
    time.advance(20 * 1000 + 10);
    app = await buildHttpApp(capturedLogger().log);
    await app.register(mixerRoutes, { clock, prefix: '/api' });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });

    const response = await fetch(`${url}/api/mixer`);
    expect(response.status).toBe(200);
    const stats = await response.json();
    expect(stats).toEqual({ mixers: 1, ticks: 500, latenessP50Ms: 1, latenessP99Ms: 9, latenessMaxMs: 9 });
    expect(ticks).toBe(1000);
  });
});
