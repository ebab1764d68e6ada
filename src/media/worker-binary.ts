/**
 * Where the mediasoup worker binary is. mediasoup reads MEDIASOUP_WORKER_BIN once, when
 * its module loads, so this runs before anything imports mediasoup (see
 * use-worker-binary.ts). An online install keeps mediasoup's own prebuilt worker; an
 * offline install uses the one scripts/mediasoup-worker.sh built into its cache, and that
 * script alone knows the cache layout, so it is asked rather than imitated.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WORKER_SCRIPT = fileURLToPath(new URL('../../scripts/mediasoup-worker.sh', import.meta.url));

function prebuiltWorkerPath(): string {
  // The package's main file is node/lib/index.js; its prebuilt worker sits in worker/out/Release.
  const packageDir = join(dirname(createRequire(import.meta.url).resolve('mediasoup')), '..', '..');
  return join(packageDir, 'worker', 'out', 'Release', 'mediasoup-worker');
}

function cachedWorkerPath(): string | undefined {
  try {
    return execFileSync('bash', [WORKER_SCRIPT, '--cached-only'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The binary mediasoup should spawn: an explicit MEDIASOUP_WORKER_BIN wins, then the
 * prebuilt one inside the package, then the offline-built cached one. Undefined when
 * none exists (mediasoup then fails at createWorker with its own message).
 */
export function resolveWorkerBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MEDIASOUP_WORKER_BIN) return env.MEDIASOUP_WORKER_BIN;
  const prebuilt = prebuiltWorkerPath();
  return existsSync(prebuilt) ? prebuilt : cachedWorkerPath();
}

/**
 * The worker binary cannot tell its own version (mediasoup passes it one in
 * MEDIASOUP_VERSION), so scripts/mediasoup-worker.sh records the version it built
 * for in this file beside the binary.
 */
export const WORKER_VERSION_FILE = 'mediasoup-version';

/**
 * Why this worker binary cannot serve the installed mediasoup, or undefined when it can
 * or nothing says otherwise. A worker of another version speaks another channel protocol:
 * mediasoup would wait for it forever instead of failing.
 */
export function workerVersionMismatch(binary: string | undefined, installedVersion: string): string | undefined {
  const record = binary && join(dirname(binary), WORKER_VERSION_FILE);
  if (!record || !existsSync(record)) return undefined;
  const builtFor = readFileSync(record, 'utf8').trim();
  if (builtFor === installedVersion) return undefined;
  return (
    `the mediasoup worker ${binary} was built for mediasoup ${builtFor}, but mediasoup ${installedVersion} is installed: ` +
    `run "bash scripts/mediasoup-worker.sh" to build one for ${installedVersion}, or point MEDIASOUP_WORKER_BIN at one`
  );
}
