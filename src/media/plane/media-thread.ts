/**
 * The main thread's handle on one media thread: typed requests with their replies, the
 * events it sends, and how loaded it is. A thread that exits without being asked to is
 * `lost`: its pending requests fail, and whoever had media on it hears of it.
 */
// The opus addon is loaded here first: a native addon that only worker threads load is
// unloaded when the last of them exits, and this one crashes the process doing so.
import '@evan/opus';
import { EventEmitter } from 'node:events';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { TimeSource } from '../mixer/tick-clock.js';
import { MediaEngine } from './media-engine.js';
import type { PlaneRequestType, PlaneRequests, TelephoneEventPacket, ThreadMessage } from './plane-protocol.js';

/**
 * Small semi-spaces (4 MB), as `npm start`'s --max-semi-space-size=4 gives every thread (the
 * flag is process-wide and overrides this; this holds where node runs without it). Each
 * scavenge pauses the thread, and a call's set-up waits on its media thread twice; V8 would
 * also grow a busy thread's young generation to 48 MB and keep it reserved. Small
 * semi-spaces fill often, so the media path allocates little per packet (one parse, reused
 * codec outputs and tick state): at 3.7 KB of garbage a packet they cost it about 15 % more
 * CPU per leg in bench:legs, at 2.1 KB next to nothing (README, Performance).
 */
const MEDIA_THREAD_LIMITS = { maxYoungGenerationSizeMb: 12 };

interface MediaThreadEvents {
  log: [level: 'warn' | 'error', message: string, fields: Record<string, string | number>];
  /** The thread died (exit code, or the error it threw). */
  lost: [reason: string];
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
}

/** The thread's entry: compiled JavaScript in a build, TypeScript (through tsx) when run from source. */
const ENTRY = new URL(import.meta.url.endsWith('.ts') ? './media-thread-entry.ts' : './media-thread-entry.js', import.meta.url);

/** A media thread that is gone: requests to it fail with this. */
export class MediaThreadLostError extends Error {
  constructor(reason: string) {
    super(`media thread lost: ${reason}`);
    this.name = 'MediaThreadLostError';
  }
}

export class MediaThread extends EventEmitter<MediaThreadEvents> {
  /** Meetings and phone ports placed on it, for placing the next meeting. */
  meetings = 0;
  ports = 0;
  /** Where each tapped port's telephone-events go. */
  readonly telephoneEvents = new Map<string, (packet: TelephoneEventPacket) => void>();
  /** Who hears that a port's phone starts or stops speaking. */
  readonly speakingListeners = new Map<string, (speaking: boolean) => void>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private lostReason: string | undefined;
  private closing = false;
  /** Whether it ever ran: one that dies before is broken (a bad install), not unlucky. */
  private started = false;

  private constructor(
    readonly index: number,
    private readonly port: MessagePort | Worker,
    private readonly stop: () => Promise<unknown>,
  ) {
    super();
    // Every meeting on the thread listens for its loss.
    this.setMaxListeners(0);
    port.on('message', (message: ThreadMessage) => this.receive(message));
  }

  /** A worker thread. */
  static start(index: number): MediaThread {
    const worker = new Worker(ENTRY, { execArgv: ENTRY.pathname.endsWith('.ts') ? ['--import', 'tsx'] : [], name: `media-${index}`, resourceLimits: MEDIA_THREAD_LIMITS });
    // The gateway's lifetime is the HTTP and SIP servers'; a media thread alone keeps nothing alive.
    worker.unref();
    const thread = new MediaThread(index, worker, () => worker.terminate());
    worker.once('online', () => (thread.started = true));
    worker.on('error', (err) => thread.lose(err.message));
    worker.on('exit', (code) => thread.lose(`exited with code ${code}`));
    return thread;
  }

  /** An engine on this very thread, ticking on `time`: how tests drive the mixer's clock. */
  static inProcess(index: number, time: TimeSource): MediaThread {
    const { port1, port2 } = new MessageChannel();
    const engine = new MediaEngine(port2, time);
    port1.unref();
    const thread = new MediaThread(index, port1, async () => {
      engine.close();
      port1.close();
    });
    thread.started = true;
    return thread;
  }

  get isLost(): boolean {
    return this.lostReason !== undefined;
  }

  get hasStarted(): boolean {
    return this.started;
  }

  /** How busy it is: every phone port counts, and a meeting a little. */
  get load(): number {
    return this.ports + this.meetings / 2;
  }

  request<T extends PlaneRequestType>(type: T, body: PlaneRequests[T]['request']): Promise<PlaneRequests[T]['result']> {
    if (this.lostReason !== undefined) return Promise.reject(new MediaThreadLostError(this.lostReason));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      this.port.postMessage({ ...body, type, id });
    });
  }

  /** Ends the thread on purpose (shutdown): not a loss. */
  async close(): Promise<void> {
    this.closing = true;
    this.failPending('closed');
    await this.stop();
  }

  private receive(message: ThreadMessage): void {
    switch (message.type) {
      case 'reply': {
        const pending = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.ok) pending?.resolve(message.result);
        else pending?.reject(new Error(message.error));
        return;
      }
      case 'telephone-event':
        this.telephoneEvents.get(message.portId)?.(message.packet);
        return;
      case 'speaking':
        this.speakingListeners.get(message.portId)?.(message.speaking);
        return;
      case 'log':
        this.emit('log', message.level, message.message, message.fields);
    }
  }

  private lose(reason: string): void {
    if (this.lostReason !== undefined) return;
    this.lostReason = reason;
    this.failPending(reason);
    if (!this.closing) this.emit('lost', reason);
  }

  private failPending(reason: string): void {
    for (const { reject } of this.pending.values()) reject(new MediaThreadLostError(reason));
    this.pending.clear();
  }
}
