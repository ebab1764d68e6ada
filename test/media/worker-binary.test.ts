import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cachedWorkerPath,
  installedMediasoupVersion,
  missingWorkerBinary,
  prebuiltWorkerPath,
  resolveWorkerBinary,
} from '../../src/media/worker-binary.js';

const WORKER_SCRIPT = fileURLToPath(new URL('../../scripts/mediasoup-worker.sh', import.meta.url));

describe('resolveWorkerBinary', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  /** A cache laid out as scripts/mediasoup-worker.sh leaves it: a build directory and the version link to it. */
  async function fakeCache(version: string): Promise<{ root: string; binary: string }> {
    const root = await mkdtemp(join(tmpdir(), 'worker-cache-'));
    dirs.push(root);
    const buildDir = join(root, 'mediasoup-worker', `${version}+compat.0123456789ab`);
    await mkdir(buildDir, { recursive: true });
    const binary = join(buildDir, 'mediasoup-worker');
    await writeFile(binary, '#!/bin/sh\n');
    await chmod(binary, 0o755);
    await symlink(`${version}+compat.0123456789ab`, join(root, 'mediasoup-worker', version));
    return { root, binary };
  }

  it('takes MEDIASOUP_WORKER_BIN as given', () => {
    expect(resolveWorkerBinary({ MEDIASOUP_WORKER_BIN: '/opt/worker/mediasoup-worker' })).toBe('/opt/worker/mediasoup-worker');
  });

  it('finds the offline build through the version link in the cache, resolved to the build itself', async () => {
    const version = installedMediasoupVersion();
    const cache = await fakeCache(version);
    expect(cachedWorkerPath({ GATEWAY_CACHE_DIR: cache.root }, version)).toBe(join(cache.root, 'mediasoup-worker', version, 'mediasoup-worker'));
    // mediasoup's own prebuilt worker comes first where an online install left one.
    const expected = existsSync(prebuiltWorkerPath()) ? prebuiltWorkerPath() : cache.binary;
    expect(resolveWorkerBinary({ GATEWAY_CACHE_DIR: cache.root })).toBe(expected);
  });

  it('looks in the same cache root as the build script: GATEWAY_CACHE_DIR, else XDG_CACHE_HOME, else ~/.cache', () => {
    expect(cachedWorkerPath({ GATEWAY_CACHE_DIR: '/c' }, '3.27.1')).toBe('/c/mediasoup-worker/3.27.1/mediasoup-worker');
    expect(cachedWorkerPath({ XDG_CACHE_HOME: '/x' }, '3.27.1')).toBe('/x/sip-webrtc-gateway/mediasoup-worker/3.27.1/mediasoup-worker');
    expect(cachedWorkerPath({ HOME: '/home/g' }, '3.27.1')).toBe('/home/g/.cache/sip-webrtc-gateway/mediasoup-worker/3.27.1/mediasoup-worker');
  });

  it('is undefined when neither mediasoup nor the cache holds a worker', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'worker-cache-empty-'));
    dirs.push(empty);
    expect(existsSync(cachedWorkerPath({ GATEWAY_CACHE_DIR: empty }, installedMediasoupVersion()))).toBe(false);
    if (!existsSync(prebuiltWorkerPath())) expect(resolveWorkerBinary({ GATEWAY_CACHE_DIR: empty })).toBeUndefined();
  });

  // Where an online install left mediasoup's prebuilt worker, the offline build is neither made nor used.
  it.skipIf(existsSync(prebuiltWorkerPath()))('finds the binary scripts/mediasoup-worker.sh reports, without running it', { timeout: 60_000 }, () => {
    // The script (which knows its cache key) and the resolver (which must not run it) agree.
    let reported: string;
    try {
      reported = execFileSync('bash', [WORKER_SCRIPT, '--cached-only'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch {
      throw new Error('no offline-built worker is cached here: run bash scripts/mediasoup-worker.sh (setup.sh --test does)');
    }
    const cached = cachedWorkerPath(process.env, installedMediasoupVersion());
    expect(realpathSync(cached)).toBe(realpathSync(reported));
  });
});

describe('missingWorkerBinary', () => {
  it('says how to get a worker when the binary does not exist', () => {
    const problem = missingWorkerBinary('/nonexistent/mediasoup-worker');
    expect(problem).toContain('the mediasoup worker binary /nonexistent/mediasoup-worker does not exist');
    expect(problem).toContain('MEDIASOUP_WORKER_BIN');
    expect(problem).toContain('bash scripts/mediasoup-worker.sh');
  });

  it('has nothing to say about a binary that exists', () => {
    expect(missingWorkerBinary(process.execPath)).toBeUndefined();
  });
});
