/**
 * A DrachtioStandin in a worker thread of its own, so that its SIP parsing, transactions and
 * retransmission timers do not share an event loop with the app it serves. Apps reach it as
 * they reach drachtio-server, over TCP on its admin address; only the start, the addresses,
 * the stop and the log lines cross the thread boundary. Each log line is logged again
 * through the host's logger, fields included (so the host's redaction applies to it too).
 * A thread that exits without being asked to is `lost`.
 */
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { Level, Logger } from 'pino';
import type { ListenAddress } from './drachtio-standin.js';
import type { FromStandinThread, StandinThreadData, StandinThreadOptions, ToStandinThread } from './standin-thread-protocol.js';

/** The thread's entry: compiled JavaScript in a build, TypeScript (through tsx) when run from source. */
const ENTRY = new URL(import.meta.url.endsWith('.ts') ? './standin-thread-entry.ts' : './standin-thread-entry.js', import.meta.url);

/** How long a closing stand-in may take to let go of its sockets before its thread is ended anyway. */
const CLOSE_TIMEOUT_MS = 5000;

interface StandinThreadEvents {
  /** The thread died (exit code, or the error it threw). */
  lost: [reason: string];
}

interface Addresses {
  readonly adminAddress: ListenAddress;
  readonly sipAddress: ListenAddress;
  readonly sipTlsAddress: ListenAddress | undefined;
}

/** The start's error, as the stand-in threw it in its thread (message and errno code). */
export class StandinStartError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'StandinStartError';
  }
}

/**
 * A young generation capped at 12 MB (V8 would grow it to 48 MB under load and keep it):
 * what the stand-in keeps alive, its transactions for 32 s, goes to the old generation
 * either way, and smaller semi-spaces keep each scavenge, a pause of every SIP message in
 * flight, short.
 */
const STANDIN_THREAD_LIMITS = { maxYoungGenerationSizeMb: 12 };

export class StandinThread extends EventEmitter<StandinThreadEvents> {
  private closing = false;
  private lostReason: string | undefined;
  private onClosed: (() => void) | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly addresses: Addresses,
  ) {
    super();
  }

  /** Starts the thread and resolves once the stand-in listens; rejects with its start error. */
  static start(options: StandinThreadOptions, log: Logger): Promise<StandinThread> {
    const workerData: StandinThreadData = { options, logLevel: log.level };
    const worker = new Worker(ENTRY, { execArgv: ENTRY.pathname.endsWith('.ts') ? ['--import', 'tsx'] : [], name: 'drachtio-standin', workerData, resourceLimits: STANDIN_THREAD_LIMITS });
    // The host's lifetime is its own servers'; the stand-in's thread alone keeps nothing alive.
    worker.unref();
    return new Promise((resolve, reject) => {
      let thread: StandinThread | undefined;
      const lose = (reason: string) => {
        if (!thread) return reject(new StandinStartError(`the drachtio stand-in thread ${reason} before it listened`, undefined));
        thread.lose(reason);
      };
      worker.on('message', (message: FromStandinThread) => {
        switch (message.type) {
          case 'log':
            return relayLogLine(log, message.line);
          case 'listening':
            thread = new StandinThread(worker, message);
            return resolve(thread);
          case 'failed':
            void worker.terminate();
            return reject(new StandinStartError(message.message, message.code));
          case 'closed':
            thread?.onClosed?.();
        }
      });
      worker.on('error', (err) => lose(`failed: ${err.message}`));
      worker.on('exit', (code) => lose(`exited with code ${code}`));
    });
  }

  get adminAddress(): ListenAddress {
    return this.addresses.adminAddress;
  }

  get sipAddress(): ListenAddress {
    return this.addresses.sipAddress;
  }

  /** Where SIP over TLS is received; undefined without TLS. */
  get sipTlsAddress(): ListenAddress | undefined {
    return this.addresses.sipTlsAddress;
  }

  /** Test only: the thread dies at once, as on a fatal bug. */
  crash(): void {
    this.tell({ type: 'crash' });
  }

  /** Closes the stand-in (every socket, connection and timer), then ends the thread: not a loss. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.lostReason === undefined) {
      const closed = new Promise<void>((resolve) => {
        this.onClosed = resolve;
        this.worker.once('exit', () => resolve());
      });
      this.tell({ type: 'close' });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)))]);
      clearTimeout(timer);
    }
    await this.worker.terminate();
  }

  private tell(message: ToStandinThread): void {
    this.worker.postMessage(message);
  }

  private lose(reason: string): void {
    if (this.lostReason !== undefined) return;
    this.lostReason = reason;
    if (!this.closing) this.emit('lost', reason);
  }
}

/** A pino line from the thread, logged again at its level with its fields (an `err` back as an Error, for pino's serializer). */
function relayLogLine(log: Logger, line: string): void {
  const { level, msg, ...fields } = JSON.parse(line) as { level: number; msg?: string; [field: string]: unknown };
  const err = fields.err as { type?: string; message?: unknown; stack?: string } | undefined;
  if (typeof err?.message === 'string') fields.err = Object.assign(new Error(err.message), { name: err.type ?? 'Error', stack: err.stack });
  log[(log.levels.labels[level] ?? 'info') as Level](fields, msg);
}
