/**
 * The mediasoup workers: one per core by default. A worker that dies is logged with its
 * pid and reason and replaced; routers on it are closed by mediasoup, and their owners
 * hear it through the router's `workerclose`.
 */
import { cpus } from 'node:os';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { Logger } from '../logger.js';
import { withTimeout } from '../timeout.js';
import { missingWorkerBinary, workerVersionMismatch } from './worker-binary.js';

export interface WorkerPoolOptions {
  /** 0 = one per CPU core. */
  readonly size: number;
  readonly rtcMinPort: number;
  readonly rtcMaxPort: number;
  /** How long a worker may take to start before it counts as failed. */
  readonly startTimeoutMs?: number;
  /** Delay before the first replacement attempt of a dead worker; doubles per failed attempt. */
  readonly respawnDelayMs?: number;
  /** The worker binary; default: mediasoup's (MEDIASOUP_WORKER_BIN, see use-worker-binary.ts). */
  readonly workerBin?: string;
}

interface Slot {
  worker: types.Worker | undefined;
  routers: number;
}

export class WorkerPool {
  private readonly slots: Slot[];
  private closed = false;
  private readonly respawnTimers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly options: Required<WorkerPoolOptions>,
    private readonly log: Logger,
  ) {
    this.slots = Array.from({ length: options.size }, () => ({ worker: undefined, routers: 0 }));
  }

  /**
   * Rejects at once when the worker binary does not exist (saying how to get one) or was
   * built for another mediasoup (naming both versions).
   */
  static async create(options: WorkerPoolOptions, log: Logger): Promise<WorkerPool> {
    const pool = new WorkerPool(
      {
        startTimeoutMs: 10_000,
        respawnDelayMs: 500,
        workerBin: mediasoup.workerBin,
        ...options,
        size: options.size || cpus().length,
      },
      log.child({ component: 'worker-pool' }),
    );
    const unusable = missingWorkerBinary(pool.options.workerBin) ?? workerVersionMismatch(pool.options.workerBin, mediasoup.version);
    if (unusable) throw new Error(unusable);
    try {
      await Promise.all(pool.slots.map((slot) => pool.start(slot)));
    } catch (err) {
      pool.close();
      throw err;
    }
    pool.log.info({ workers: pool.slots.map((s) => s.worker?.pid) }, 'mediasoup workers started');
    return pool;
  }

  /** The live worker carrying the fewest routers. */
  leastLoaded(): types.Worker {
    let best: Slot | undefined;
    for (const slot of this.slots) {
      if (slot.worker && (!best || slot.routers < best.routers)) best = slot;
    }
    if (!best?.worker) throw new Error('no mediasoup worker is running');
    return best.worker;
  }

  get workers(): types.Worker[] {
    return this.slots.flatMap((s) => (s.worker ? [s.worker] : []));
  }

  /** Undefined when every worker is up; otherwise what is down, for /readyz. */
  problem(): string | undefined {
    const up = this.workers.length;
    return up === this.slots.length ? undefined : `${up} of ${this.slots.length} mediasoup workers running`;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.respawnTimers) clearTimeout(timer);
    for (const slot of this.slots) slot.worker?.close();
  }

  private async start(slot: Slot): Promise<void> {
    const worker = await withTimeout(
      withoutSignalClose(() =>
        mediasoup.createWorker({
          workerBin: this.options.workerBin,
          logLevel: 'warn',
          rtcMinPort: this.options.rtcMinPort,
          rtcMaxPort: this.options.rtcMaxPort,
        }),
      ),
      this.options.startTimeoutMs,
      // A worker of another mediasoup version never answers: the likeliest cause, so it is named.
      `mediasoup worker start (${this.options.workerBin}; a worker built for another mediasoup version than ${mediasoup.version} hangs like this)`,
      (late) => late.close(),
    );
    if (this.closed) {
      worker.close();
      return;
    }
    slot.worker = worker;
    slot.routers = 0;
    worker.observer.on('newrouter', (router: types.Router) => {
      slot.routers++;
      router.observer.once('close', () => slot.routers--);
    });
    worker.on('died', (error: Error) => {
      this.log.error({ pid: worker.pid, reason: error.message }, 'mediasoup worker died; replacing it');
      slot.worker = undefined;
      this.respawn(slot, this.options.respawnDelayMs);
    });
  }

  private respawn(slot: Slot, delayMs: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.respawnTimers.delete(timer);
      this.start(slot).then(
        () => {
          if (slot.worker) this.log.info({ pid: slot.worker.pid }, 'mediasoup worker replaced');
        },
        (err: Error) => {
          this.log.error({ reason: err.message, retryInMs: delayMs * 2 }, 'mediasoup worker could not be restarted');
          this.respawn(slot, Math.min(delayMs * 2, 30_000));
        },
      );
    }, delayMs);
    this.respawnTimers.add(timer);
  }
}

const CLOSING_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * mediasoup closes each worker when the process gets SIGINT or SIGTERM (listeners it adds
 * as it spawns the worker). The gateway decides itself when its workers close: a drain on
 * SIGTERM keeps them for the calls still up. So the listeners `spawn` added are removed.
 */
function withoutSignalClose<T>(spawn: () => T): T {
  const before = new Map(CLOSING_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const spawned = spawn();
  for (const signal of CLOSING_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return spawned;
}
