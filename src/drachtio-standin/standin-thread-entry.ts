/** The stand-in's worker thread: runs a DrachtioStandin and tells the host thread what it logs. */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { DrachtioStandin } from './drachtio-standin.js';
import type { FromStandinThread, StandinThreadData, ToStandinThread } from './standin-thread-protocol.js';

if (!parentPort) throw new Error('standin-thread-entry runs as a worker thread only');
const host = parentPort;
const tell = (message: FromStandinThread) => host.postMessage(message);
const { options, logLevel } = workerData as StandinThreadData;
// Bare lines (no time, pid or hostname): the host's logger adds its own.
const log = pino({ level: logLevel, base: undefined, timestamp: false }, { write: (line: string) => tell({ type: 'log', line }) });

try {
  const standin = await DrachtioStandin.start({ ...options, log });
  host.on('message', (message: ToStandinThread) => {
    if (message.type === 'crash') process.exit(70);
    void standin.close().then(() => tell({ type: 'closed' }));
  });
  tell({ type: 'listening', adminAddress: standin.adminAddress, sipAddress: standin.sipAddress, sipTlsAddress: standin.sipTlsAddress });
} catch (err) {
  tell({ type: 'failed', message: (err as Error).message, code: (err as NodeJS.ErrnoException).code });
}
