import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as mediasoup from 'mediasoup';
import { afterEach, describe, expect, it } from 'vitest';
import { WORKER_VERSION_FILE } from '../../src/media/worker-binary.js';
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

  it('while its only worker is being replaced, hands out the replacement instead of failing; 503 once it gives up', async () => {
    pool = await WorkerPool.create({ size: 1, rtcMinPort: 41100, rtcMaxPort: 41199, respawnDelayMs: 300, replacementWaitMs: 5000 }, capturedLogger().log);
    const victim = pool.workers[0]!;
    process.kill(victim.pid, 'SIGKILL');
    const p = pool;
    await until(() => p.workers.length === 0, 10_000, 'the dead worker to be dropped');
    expect(() => p.leastLoaded()).toThrow(expect.objectContaining({ code: 'unavailable', sipStatus: 503 }));
    const replacement = await p.available();
    expect(replacement.pid).not.toBe(victim.pid);
    expect(replacement.closed).toBe(false);

    p.close();
    await expect(p.available()).rejects.toMatchObject({ code: 'unavailable', message: 'the media workers are shut down' });
  });

  it('fails start-up with a clear error when the worker cannot start, leaving nothing running', async () => {
    // A port range that cannot be valid makes the real worker exit during start.
    await expect(
      WorkerPool.create({ size: 1, rtcMinPort: 50000, rtcMaxPort: 40000, startTimeoutMs: 5000 }, capturedLogger().log),
    ).rejects.toThrow();
  });

  it('refuses to start when the worker binary does not exist, saying how to build one', async () => {
    await expect(
      WorkerPool.create({ size: 1, rtcMinPort: 41100, rtcMaxPort: 41199, workerBin: '/nonexistent/mediasoup-worker' }, capturedLogger().log),
    ).rejects.toThrow(/mediasoup worker binary \/nonexistent\/mediasoup-worker does not exist: .*bash scripts\/mediasoup-worker\.sh/);
  });

  describe('a worker binary built for another mediasoup version', () => {
    /** A directory holding a stand-in "worker" (a script that never answers) and, if given, the version record. */
    async function foreignWorker(recordedVersion: string | undefined): Promise<{ bin: string; dispose(): Promise<void> }> {
      const dir = await mkdtemp(join(tmpdir(), 'foreign-worker-'));
      const bin = join(dir, 'mediasoup-worker');
      await writeFile(bin, '#!/bin/sh\nexec sleep 3\n');
      await chmod(bin, 0o755);
      if (recordedVersion !== undefined) await writeFile(join(dir, WORKER_VERSION_FILE), `${recordedVersion}\n`);
      return { bin, dispose: () => rm(dir, { recursive: true, force: true }) };
    }

    it('is refused at start-up by its version record, naming both versions', async () => {
      const worker = await foreignWorker('3.13.16');
      try {
        await expect(WorkerPool.create({ size: 1, rtcMinPort: 41100, rtcMaxPort: 41199, workerBin: worker.bin }, capturedLogger().log)).rejects.toThrow(
          `the mediasoup worker ${worker.bin} was built for mediasoup 3.13.16, but mediasoup ${mediasoup.version} is installed`,
        );
      } finally {
        await worker.dispose();
      }
    });

    it('without a record, fails the start after the timeout with a message that names the likely cause', async () => {
      const worker = await foreignWorker(undefined);
      try {
        await expect(
          WorkerPool.create({ size: 1, rtcMinPort: 41100, rtcMaxPort: 41199, workerBin: worker.bin, startTimeoutMs: 500 }, capturedLogger().log),
        ).rejects.toThrow(`a worker built for another mediasoup version than ${mediasoup.version} hangs like this`);
      } finally {
        await worker.dispose();
      }
    });
  });
});
