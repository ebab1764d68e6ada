/**
 * The meeting page as the server finds it: `npm run build` bundles src/web into
 * dist/public (scripts/web-bundle.ts); the page routes serve exactly these files from there.
 */
import { fileURLToPath } from 'node:url';

/** The files the bundle holds; the page routes serve exactly these. */
export const WEB_ASSET_FILES = {
  page: 'meeting.html',
  script: 'main.js',
  sourceMap: 'main.js.map',
  styles: 'meeting.css',
} as const;

/**
 * dist/public: beside the compiled server (dist/src/http → dist/public); run from source
 * (tsx src/main.ts), the checkout's dist/public that the last `npm run build` wrote.
 */
export const BUILT_WEB_ASSETS_DIR = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../../dist/public/' : '../../public/', import.meta.url),
);
