/**
 * Bundles the meeting page once per test run into a temporary directory, as `npm run build`
 * does into dist/public; tests that serve the page get it through webAssetsDir().
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildWebAssets } from '../../scripts/web-bundle.js';

declare module 'vitest' {
  export interface ProvidedContext {
    webAssetsDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'test-web-assets-'));
  await buildWebAssets(dir);
  project.provide('webAssetsDir', dir);
  return () => rm(dir, { recursive: true, force: true });
}
