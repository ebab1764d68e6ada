/**
 * The phones' media plane: N media threads (MEDIA_THREADS, 0 = one per core), each
 * carrying the meetings placed on it. A meeting goes to the least loaded thread when it
 * first needs phone media and stays there. A thread that dies is replaced at once; the
 * calls that had media on it are ended by their meetings (see MeetingMedia).
 */
import { availableParallelism } from 'node:os';
import { GatewayError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { withTimeout } from '../../timeout.js';
import { type LatenessCounts, NO_LATENESS, addLatenessCounts } from '../mixer/lateness-histogram.js';
import { type MixerClockStats, clockStats } from '../mixer/mixer-clock.js';
import type { TimeSource } from '../mixer/tick-clock.js';
import { MediaThread } from './media-thread.js';
import { NO_PACKETS, addPacketCounts } from './packet-counts.js';
import type { PhonePacketCounts, ThreadStats } from './plane-protocol.js';

/** How long a thread that died before it ran waits to be replaced. */
const START_FAILURE_RETRY_MS = 1000;
const STATS_TIMEOUT_MS = 2000;

export interface MediaPlaneOptions {
  /** 0 = one per core. */
  readonly threads: number;
  /**
   * Tests of timing only: one engine on the calling thread, ticking on this time source
   * (a worker thread cannot be driven by a test's virtual clock).
   */
  readonly time?: TimeSource;
}

/** GET /api/mixer: the clocks of all threads together, and each on its own. */
export interface MediaPlaneStats extends MixerClockStats {
  readonly threads: ReadonlyArray<MixerClockStats & { readonly ports: number }>;
}

/** What the metrics read: counts since the plane started, threads that died and were replaced included. */
export interface MediaPlaneTotals {
  readonly phonePackets: PhonePacketCounts;
  readonly tickLateness: LatenessCounts;
  /** CPU time used by the thread at each index (its predecessors included), ms. */
  readonly threadCpuMs: readonly number[];
  /** Phone RTP ports open. */
  readonly ports: number;
}

export class MediaPlane {
  private readonly threads: MediaThread[];
  /** Each thread's last answer, so what a thread counted is not lost when it dies. */
  private readonly lastStats = new Map<MediaThread, ThreadStats>();
  /** What the threads that died had counted when last asked. */
  private retired: { phonePackets: PhonePacketCounts; tickLateness: LatenessCounts; cpuMs: number[] } = {
    phonePackets: NO_PACKETS,
    tickLateness: NO_LATENESS,
    cpuMs: [],
  };
  private closed = false;

  private constructor(
    count: number,
    private readonly options: MediaPlaneOptions,
    private readonly log: Logger,
  ) {
    this.threads = Array.from({ length: count }, (_, index) => this.startThread(index));
  }

  static create(options: MediaPlaneOptions, log: Logger): MediaPlane {
    const count = options.time ? 1 : options.threads || availableParallelism();
    const plane = new MediaPlane(count, options, log.child({ component: 'media-plane' }));
    plane.log.info({ threads: count }, 'media threads started');
    return plane;
  }

  get size(): number {
    return this.threads.length;
  }

  /** The thread a new meeting goes to: the least loaded of those running. */
  place(): MediaThread {
    if (this.closed) throw new GatewayError('unavailable', 'the media plane is closed');
    const running = this.threads.filter((thread) => !thread.isLost);
    if (running.length === 0) throw new GatewayError('unavailable', 'no media thread is running');
    return running.reduce((best, thread) => (thread.load < best.load ? thread : best));
  }

  /** The thread at `index`, for tests and diagnostics. */
  thread(index: number): MediaThread {
    const thread = this.threads[index];
    if (!thread) throw new RangeError(`no media thread ${index} (there are ${this.threads.length})`);
    return thread;
  }

  async stats(): Promise<MediaPlaneStats> {
    const perThread = await Promise.all(
      this.threads.map(async (thread) => {
        // A thread too busy to answer in time counts as none: the API must not hang on it.
        const { mixers, lateness } = (await this.threadStats(thread)) ?? { mixers: 0, lateness: [] };
        return { mixers, lateness, ports: thread.ports };
      }),
    );
    const total = clockStats(
      perThread.reduce((sum, { mixers }) => sum + mixers, 0),
      perThread.flatMap(({ lateness }) => lateness),
    );
    return { ...total, threads: perThread.map(({ mixers, lateness, ports }) => ({ ...clockStats(mixers, lateness), ports })) };
  }

  /** Counts since the plane started; a thread too busy to answer counts with its last answer. */
  async totals(): Promise<MediaPlaneTotals> {
    const threads = [...this.threads];
    await Promise.all(threads.map((thread) => this.threadStats(thread)));
    let { phonePackets, tickLateness } = this.retired;
    const threadCpuMs = threads.map((_, index) => this.retired.cpuMs[index] ?? 0);
    threads.forEach((thread, index) => {
      const last = this.lastStats.get(thread);
      if (!last) return;
      phonePackets = addPacketCounts(phonePackets, last.phonePackets);
      tickLateness = addLatenessCounts(tickLateness, last.tickLateness);
      threadCpuMs[index]! += last.cpuMs;
    });
    return { phonePackets, tickLateness, threadCpuMs, ports: threads.reduce((sum, thread) => sum + thread.ports, 0) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.threads.map((thread) => thread.close()));
  }

  /** The thread's answer, remembered for totals(); undefined when it does not answer in time. */
  private async threadStats(thread: MediaThread): Promise<ThreadStats | undefined> {
    const stats = await withTimeout(thread.request('stats', {}), STATS_TIMEOUT_MS, `media thread ${thread.index} stats`).catch(() => undefined);
    if (stats && !thread.isLost) this.lastStats.set(thread, stats);
    return stats;
  }

  /** A dead thread's last counts stay in the totals. */
  private retire(thread: MediaThread): void {
    const last = this.lastStats.get(thread);
    this.lastStats.delete(thread);
    if (!last) return;
    const cpuMs = [...this.retired.cpuMs];
    cpuMs[thread.index] = (cpuMs[thread.index] ?? 0) + last.cpuMs;
    this.retired = {
      phonePackets: addPacketCounts(this.retired.phonePackets, last.phonePackets),
      tickLateness: addLatenessCounts(this.retired.tickLateness, last.tickLateness),
      cpuMs,
    };
  }

  private startThread(index: number): MediaThread {
    const thread = this.options.time ? MediaThread.inProcess(index, this.options.time) : MediaThread.start(index);
    const log = this.log.child({ mediaThread: index });
    thread.on('log', (level, message, fields) => log[level](fields, message));
    thread.once('lost', (reason) => {
      this.retire(thread);
      // A thread that cannot even start (a broken install) must not be restarted in a busy loop.
      const delayMs = thread.hasStarted ? 0 : START_FAILURE_RETRY_MS;
      log.error({ reason, restartInMs: delayMs }, 'media thread died; replacing it');
      const replace = () => {
        if (!this.closed) this.threads[index] = this.startThread(index);
      };
      if (delayMs === 0) replace();
      else setTimeout(replace, delayMs).unref();
    });
    return thread;
  }
}
