import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { MixerClock } from '../../src/media/mixer/mixer-clock.js';
import { memoryApp } from '../support/app.js';
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
    app = await buildApp({ ...memoryApp().deps, mixerStats: clock });

    const response = await app.inject({ method: 'GET', url: '/api/mixer' });
    expect(response.statusCode).toBe(200);
    const stats = response.json();
    expect(stats).toEqual({ mixers: 1, ticks: 500, latenessP50Ms: 1, latenessP99Ms: 9, latenessMaxMs: 9 });
    expect(ticks).toBe(1000);
  });
});
