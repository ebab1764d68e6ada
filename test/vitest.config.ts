import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defineConfig } from 'vitest/config';

const ROOT = new URL('..', import.meta.url).pathname;

/**
 * The end-to-end tests: they start the whole gateway (mediasoup workers, SIP against the
 * drachtio stand-in or server, the bundled page) or drive real clients (baresip,
 * Chromium). Everything else is the unit project, which `npm run test:unit` runs alone.
 */
const END_TO_END_DIR = 'test/e2e/';
const END_TO_END_FILES = new Set([
  'test/gateway.test.ts',
  'test/sip/dial-in.test.ts',
  'test/harness/baresip.test.ts',
  'test/web/meeting-page.test.ts',
]);

const isEndToEnd = (file: string) => file.startsWith(END_TO_END_DIR) || END_TO_END_FILES.has(file);

function testFiles(): string[] {
  return readdirSync(join(ROOT, 'test'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.ts'))
    .map((file) => `test/${file}`)
    .sort();
}

/** Value imports (not `import type`) of a module, as written: `./x.js`, `../y.js`. */
const VALUE_IMPORT = /^import\s+(?!type\s)([^;]*?)\s+from\s+'(\.[^']+)';/gm;
/** A value import of drachtioTarget, the function that picks the stand-in or a real server. */
const IMPORTS_DRACHTIO_TARGET = /^import\s+\{[^}]*(?<!type\s)\bdrachtioTarget\b[^}]*\}\s+from\s+'[^']*drachtio-target\.js';/m;

function reachesDrachtioTarget(file: string, seen: Set<string>): boolean {
  if (seen.has(file)) return false;
  seen.add(file);
  const text = readFileSync(join(ROOT, file), 'utf8');
  if (IMPORTS_DRACHTIO_TARGET.test(text)) return true;
  return [...text.matchAll(VALUE_IMPORT)]
    .map((match) => join(dirname(file), match[2]!).replace(/\.js$/, '.ts'))
    .filter((module) => module.startsWith('test/') && existsSync(join(ROOT, module)))
    .some((module) => reachesDrachtioTarget(module, seen));
}

/**
 * The test files that talk to drachtio-server: those that reach drachtioTarget() through
 * their own imports or those of the test support they use (replay.ts, for one), except the
 * stand-in's own tests, which pick the stand-in themselves (startStandin) and never call
 * drachtioTarget. With DRACHTIO_SERVER_BIN set (npm run test:drachtio-server), only these
 * run, each against its own real server.
 */
function talksToDrachtio(file: string): boolean {
  const text = readFileSync(join(ROOT, file), 'utf8');
  if (IMPORTS_DRACHTIO_TARGET.test(text)) return true;
  return !/\bstartStandin\(/.test(text) && reachesDrachtioTarget(file, new Set());
}

const files = process.env.DRACHTIO_SERVER_BIN ? testFiles().filter((file) => talksToDrachtio(file)) : testFiles();

/** What both projects run with (projects do not inherit the root's test options here, see below). */
const shared = {
  root: ROOT,
  setupFiles: ['test/setup/mediasoup-worker-bin.ts'],
  testTimeout: 20_000,
  hookTimeout: 30_000,
};

export default defineConfig({
  test: {
    root: ROOT,
    // The root's global setup runs once per run and both projects see what it provides;
    // projects that extended the root would each run it again (one Redis each).
    globalSetup: ['test/setup/global.ts'],
    projects: [
      { test: { ...shared, name: 'unit', include: files.filter((file) => !isEndToEnd(file)) } },
      { test: { ...shared, name: 'e2e', include: files.filter(isEndToEnd) } },
    ],
  },
});
