/**
 * The second half of `npm run build`, after tsc compiled src/ into dist/src/: adds what the
 * server reads at run time besides its code, so dist/ runs on its own with the production
 * dependencies: the bundled meeting page (dist/public) and the configuration defaults
 * (dist/config/default.json, where src/config/config.ts looks for them relative to itself).
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildWebAssets } from './web-bundle.js';

const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

await buildWebAssets(root('dist/public'));
await mkdir(root('dist/config'), { recursive: true });
await copyFile(root('config/default.json'), root('dist/config/default.json'));
