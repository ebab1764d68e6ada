/**
 * Bundles the meeting page (src/web) into a directory the page routes serve: esbuild
 * bundles main.ts with mediasoup-client for browsers; the HTML and CSS are copied. A build
 * step (scripts/build-dist.ts) and test set-up only: the running server never bundles.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { WEB_ASSET_FILES } from '../src/http/web-assets.js';

export const WEB_SOURCE_DIR = fileURLToPath(new URL('../src/web/', import.meta.url));

export async function buildWebAssets(outDir: string, sourceDir: string = WEB_SOURCE_DIR): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [join(sourceDir, 'main.ts')],
    outfile: join(outDir, WEB_ASSET_FILES.script),
    tsconfig: join(sourceDir, 'tsconfig.json'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2020',
    minify: true,
    sourcemap: true,
    logLevel: 'silent', // failures reject with esbuild's messages; nothing is printed twice
  });
  await Promise.all(
    [WEB_ASSET_FILES.page, WEB_ASSET_FILES.styles].map((file) => copyFile(join(sourceDir, file), join(outDir, file))),
  );
}
