/**
 * Where the mediasoup worker binary is. mediasoup reads MEDIASOUP_WORKER_BIN once, when
 * its module loads, so this runs before anything imports mediasoup (see
 * use-worker-binary.ts). It only looks: nothing here builds or runs a script, so the
 * server needs neither the checkout's scripts nor build tools. An online install keeps
 * mediasoup's own prebuilt worker; an offline install uses the one
 * scripts/mediasoup-worker.sh built into its cache, found through the `<version>` link
 * that script keeps beside its builds.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** mediasoup's package directory (its main file is node/lib/index.js). */
function mediasoupPackageDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('mediasoup')), '..', '..');
}

/** The installed mediasoup's version, read without loading mediasoup. */
export function installedMediasoupVersion(): string {
  return (JSON.parse(readFileSync(join(mediasoupPackageDir(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** Where mediasoup's install puts its prebuilt worker (and where mediasoup looks by default). */
export function prebuiltWorkerPath(): string {
  return join(mediasoupPackageDir(), 'worker', 'out', 'Release', 'mediasoup-worker');
}

/**
 * Where scripts/mediasoup-worker.sh links the offline build it made or reused last for a
 * mediasoup version (the same cache root as the script: GATEWAY_CACHE_DIR, else
 * $XDG_CACHE_HOME or ~/.cache, then sip-webrtc-gateway).
 */
export function cachedWorkerPath(env: NodeJS.ProcessEnv, mediasoupVersion: string): string {
  const cacheRoot = env.GATEWAY_CACHE_DIR || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'sip-webrtc-gateway');
  return join(cacheRoot, 'mediasoup-worker', mediasoupVersion, 'mediasoup-worker');
}

/**
 * The binary mediasoup should spawn: an explicit MEDIASOUP_WORKER_BIN wins, then the
 * prebuilt one inside the package, then the offline build in the cache. Undefined when
 * none exists (the worker pool then refuses to start, saying how to get one).
 */
export function resolveWorkerBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MEDIASOUP_WORKER_BIN) return env.MEDIASOUP_WORKER_BIN;
  const prebuilt = prebuiltWorkerPath();
  if (existsSync(prebuilt)) return prebuilt;
  const cached = cachedWorkerPath(env, installedMediasoupVersion());
  return existsSync(cached) ? realpathSync(cached) : undefined;
}

/** Why the worker pool cannot start with this binary because it does not exist, or undefined when it does. */
export function missingWorkerBinary(binary: string): string | undefined {
  if (existsSync(binary)) return undefined;
  return (
    `the mediasoup worker binary ${binary} does not exist: set MEDIASOUP_WORKER_BIN to a worker binary, ` +
    `or build one with "bash scripts/mediasoup-worker.sh" (bash scripts/setup.sh does when mediasoup's prebuilt worker cannot be downloaded)`
  );
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
