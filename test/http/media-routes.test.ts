import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ROUTER_CODECS } from '../../src/media/codecs/router-codecs.js';
import { buildApp } from '../../src/http/app.js';
import { MediaCensus } from '../../src/media/media-census.js';
import { WorkerPool } from '../../src/media/worker-pool.js';
import { memoryApp } from '../support/app.js';
import { capturedLogger } from '../support/log-capture.js';
import { loopbackPlainTransport } from '../support/media/plain-transport.js';

const API_TOKEN = 'media-token-0123456789';

let app: FastifyInstance | undefined;
let census: MediaCensus | undefined;
let pool: WorkerPool | undefined;

afterEach(async () => {
  await app?.close();
  pool?.close();
  census?.close();
  app = pool = census = undefined;
});

describe('GET /api/media', () => {
  it('reports the mediasoup objects open on this node', async () => {
    census = MediaCensus.watch();
    pool = await WorkerPool.create({ size: 1, rtcMinPort: 45200, rtcMaxPort: 45299 }, capturedLogger().log);
    const router = await pool.leastLoaded().createRouter({ mediaCodecs: ROUTER_CODECS });
    const transport = await loopbackPlainTransport(router, { comedia: true, rtcpMux: true });
    await transport.produce({
      kind: 'audio',
      rtpParameters: { codecs: [{ mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 }], encodings: [{ ssrc: 42 }] },
    });
    app = await buildApp({ ...memoryApp({ API_TOKEN }).deps, mediaCensus: census });
    const headers = { authorization: `Bearer ${API_TOKEN}` };

    const live = await app.inject({ method: 'GET', url: '/api/media', headers });
    expect(live.statusCode).toBe(200);
    expect(live.json()).toEqual({ workers: 1, routers: 1, transports: 1, producers: 1, consumers: 0 });

    router.close();
    const after = await app.inject({ method: 'GET', url: '/api/media', headers });
    expect(after.json()).toEqual({ workers: 1, routers: 0, transports: 0, producers: 0, consumers: 0 });
  });

  it('answers 401 without the API token', async () => {
    app = await buildApp(memoryApp({ API_TOKEN }).deps);

    const response = await app.inject({ method: 'GET', url: '/api/media' });

    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: 'unauthorized', message: 'missing bearer token (Authorization: Bearer <API_TOKEN>)' });
  });
});
