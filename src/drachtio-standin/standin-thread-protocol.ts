/** What a host thread and the stand-in's worker thread (standin-thread.ts) say to each other. */
import type { DrachtioStandinOptions, ListenAddress } from './drachtio-standin.js';

/** The stand-in's options that can cross a thread boundary (no logger, no scheduler: the thread has its own). */
export type StandinThreadOptions = Omit<DrachtioStandinOptions, 'log' | 'timers'>;

/** The worker's workerData. */
export interface StandinThreadData {
  readonly options: StandinThreadOptions;
  /** The host logger's level: lines below it are not even sent. */
  readonly logLevel: string;
}

export type ToStandinThread =
  | { readonly type: 'close' }
  /** Test only: the thread dies at once, as on a fatal bug. */
  | { readonly type: 'crash' };

export type FromStandinThread =
  | { readonly type: 'listening'; readonly adminAddress: ListenAddress; readonly sipAddress: ListenAddress; readonly sipTlsAddress: ListenAddress | undefined }
  /** The stand-in could not start (a port in use, a bad certificate): the start's error. */
  | { readonly type: 'failed'; readonly message: string; readonly code: string | undefined }
  /** One pino JSON line of the stand-in's log, for the host's logger to log again. */
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'closed' };
