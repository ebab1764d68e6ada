/**
 * Builds the meeting page (src/web) into the directory the page routes serve: esbuild
 * bundles main.ts with mediasoup-client for browsers; the HTML and CSS are copied. Run
 * once at start-up (or from a script) before registering pageRoutes.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** src/web, found the same way from src/http (tsx, vitest) and from dist/http (node). */
export const WEB_SOURCE_DIR = fileURLToPath(new URL('../../src/web/', import.meta.url));

/** The files buildWebAssets writes; the page routes serve exactly these. */
export const WEB_ASSET_FILES = {
  page: 'meeting.html',
  script: 'main.js',
  sourceMap: 'main.js.map',
  styles: 'meeting.css',
} as const;

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
