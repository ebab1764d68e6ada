/**
 * Where the mediasoup worker binary is. mediasoup reads MEDIASOUP_WORKER_BIN once, when
 * its module loads, so this runs before anything imports mediasoup (see
 * use-worker-binary.ts). An online install keeps mediasoup's own prebuilt worker; an
 * offline install uses the one scripts/mediasoup-worker.sh built into the cache.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export function mediasoupPackageDir(): string {
  // The package's main file is node/lib/index.js.
  return join(dirname(createRequire(import.meta.url).resolve('mediasoup')), '..', '..');
}

export function mediasoupVersion(): string {
  const pkg = JSON.parse(readFileSync(join(mediasoupPackageDir(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Mirrors the cache layout of scripts/mediasoup-worker.sh. */
export function cachedWorkerPath(version: string, env: NodeJS.ProcessEnv = process.env): string {
  const cacheRoot = env.GATEWAY_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sip-webrtc-gateway');
  return join(cacheRoot, 'mediasoup-worker', version, 'mediasoup-worker');
}

/**
 * The binary mediasoup should spawn: an explicit MEDIASOUP_WORKER_BIN wins, then the
 * prebuilt one inside the package, then the offline-built cached one. Undefined when
 * none exists (mediasoup then fails at createWorker with its own message).
 */
export function resolveWorkerBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MEDIASOUP_WORKER_BIN) return env.MEDIASOUP_WORKER_BIN;
  const prebuilt = join(mediasoupPackageDir(), 'worker', 'out', 'Release', 'mediasoup-worker');
  if (existsSync(prebuilt)) return prebuilt;
  const cached = cachedWorkerPath(mediasoupVersion(), env);
  return existsSync(cached) ? cached : undefined;
}
