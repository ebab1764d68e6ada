import { afterEach, describe, expect, it } from 'vitest';
import { ROUTER_CODECS } from '../../src/media/codecs/router-codecs.js';
import { MediaCensus } from '../../src/media/media-census.js';
import { WorkerPool } from '../../src/media/worker-pool.js';
import { capturedLogger } from '../support/log-capture.js';
import { loopbackPlainTransport } from '../support/media/plain-transport.js';

const PCMU = { codecs: [{ mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 }] };
const NONE = { workers: 0, routers: 0, transports: 0, producers: 0, consumers: 0 };

let census: MediaCensus | undefined;
let pool: WorkerPool | undefined;

afterEach(() => {
  pool?.close();
  census?.close();
  pool = census = undefined;
});

async function watchedWorker(): Promise<{ census: MediaCensus; pool: WorkerPool }> {
  census = MediaCensus.watch();
  pool = await WorkerPool.create({ size: 1, rtcMinPort: 45100, rtcMaxPort: 45199 }, capturedLogger().log);
  return { census, pool };
}

/** A router with two PlainTransports, a PCMU producer on the first and its consumer on the second. */
async function oneLeg(pool: WorkerPool) {
  const router = await pool.leastLoaded().createRouter({ mediaCodecs: ROUTER_CODECS });
  const inbound = await loopbackPlainTransport(router, { comedia: true, rtcpMux: true });
  const outbound = await loopbackPlainTransport(router, { comedia: true, rtcpMux: true });
  const producer = await inbound.produce({ kind: 'audio', rtpParameters: { ...PCMU, encodings: [{ ssrc: 1234 }] } });
  const consumer = await outbound.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
  return { router, inbound, outbound, producer, consumer };
}

describe('MediaCensus', () => {
  it('counts the workers, routers, transports, producers and consumers opened after it started watching', async () => {
    const { census, pool } = await watchedWorker();
    expect(census.counts()).toEqual({ ...NONE, workers: 1 });

    await oneLeg(pool);
    await oneLeg(pool);

    expect(census.counts()).toEqual({ workers: 1, routers: 2, transports: 4, producers: 2, consumers: 2 });
  });

  it('counts each object down when it closes, and everything on a router when the router closes', async () => {
    const { census, pool } = await watchedWorker();
    const first = await oneLeg(pool);
    const second = await oneLeg(pool);

    first.consumer.close();
    expect(census.counts()).toEqual({ workers: 1, routers: 2, transports: 4, producers: 2, consumers: 1 });
    first.inbound.close();
    expect(census.counts()).toEqual({ workers: 1, routers: 2, transports: 3, producers: 1, consumers: 1 });
    second.router.close();
    expect(census.counts()).toEqual({ workers: 1, routers: 1, transports: 1, producers: 0, consumers: 0 });
    first.router.close();
    expect(census.counts()).toEqual({ ...NONE, workers: 1 });
  });

  it('counts down everything of a worker that closes', async () => {
    const { census, pool } = await watchedWorker();
    await oneLeg(pool);

    pool.close();

    expect(census.counts()).toEqual(NONE);
  });

  it('does not count workers started after it was closed', async () => {
    census = MediaCensus.watch();
    census.close();
    pool = await WorkerPool.create({ size: 1, rtcMinPort: 45100, rtcMaxPort: 45199 }, capturedLogger().log);
    await oneLeg(pool);

    expect(census.counts()).toEqual(NONE);
  });
});
