import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ROUTER_CODECS } from '../../src/media/codecs/router-codecs.js';
import { WorkerPool } from '../../src/media/worker-pool.js';
import { capturedLogger } from '../support/log-capture.js';
import { until } from '../support/until.js';

describe('WorkerPool', () => {
  let pool: WorkerPool | undefined;
  afterEach(() => {
    pool?.close();
    pool = undefined;
  });

  it('starts the configured number of real workers and reports ready', async () => {
    pool = await WorkerPool.create({ size: 2, rtcMinPort: 41100, rtcMaxPort: 41199 }, capturedLogger().log);
    expect(pool.workers).toHaveLength(2);
    expect(new Set(pool.workers.map((w) => w.pid)).size).toBe(2);
    expect(pool.problem()).toBeUndefined();
  });

  it('places routers on the least-loaded worker', async () => {
    pool = await WorkerPool.create({ size: 2, rtcMinPort: 41100, rtcMaxPort: 41199 }, capturedLogger().log);
    const first = pool.leastLoaded();
    const router = await first.createRouter({ mediaCodecs: ROUTER_CODECS });
    const second = pool.leastLoaded();
    expect(second.pid).not.toBe(first.pid);
    router.close();
    await sleep(10);
    expect([first.pid, second.pid]).toContain(pool.leastLoaded().pid);
  });

  it('logs a dead worker with its pid and reason, reports it down, then replaces it', async () => {
    const { log, lines } = capturedLogger();
    pool = await WorkerPool.create({ size: 2, rtcMinPort: 41100, rtcMaxPort: 41199, respawnDelayMs: 300 }, log);
    const victim = pool.workers[0]!;
    const router = await victim.createRouter({ mediaCodecs: ROUTER_CODECS });
    let routerClosedByWorker = false;
    router.on('workerclose', () => (routerClosedByWorker = true));

    process.kill(victim.pid, 'SIGKILL');
    const p = pool;
    await until(() => p.problem() !== undefined, 10_000, 'the dead worker to be reported');
    expect(p.problem()).toBe('1 of 2 mediasoup workers running');
    await until(() => routerClosedByWorker, 10_000, 'the router to close with its worker');

    await until(() => p.problem() === undefined, 10_000, 'the replacement worker');
    expect(p.workers.map((w) => w.pid)).not.toContain(victim.pid);
    const died = lines().find((l) => l.msg === 'mediasoup worker died; replacing it');
    expect(died).toMatchObject({ pid: victim.pid, level: 50 });
    expect(String(died?.reason)).toMatch(/SIGKILL/);
    expect(lines().some((l) => l.msg === 'mediasoup worker replaced')).toBe(true);
  });

  it('fails start-up with a clear error when the worker cannot start, leaving nothing running', async () => {
    // A port range that cannot be valid makes the real worker exit during start.
    await expect(
      WorkerPool.create({ size: 1, rtcMinPort: 50000, rtcMaxPort: 40000, startTimeoutMs: 5000 }, capturedLogger().log),
    ).rejects.toThrow();
  });
});
