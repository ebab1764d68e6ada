import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

const ROOT = new URL('..', import.meta.url).pathname;

/**
 * The test files that talk to drachtio-server through drachtioTarget(): with
 * DRACHTIO_SERVER_BIN set (npm run test:drachtio-server), only these run, each against its
 * own real server.
 */
function filesTalkingToDrachtio(): string[] {
  return readdirSync(join(ROOT, 'test'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.ts'))
    .map((file) => `test/${file}`)
    .filter((file) => readFileSync(join(ROOT, file), 'utf8').includes('drachtioTarget('));
}

export default defineConfig({
  test: {
    root: ROOT,
    include: process.env.DRACHTIO_SERVER_BIN ? filesTalkingToDrachtio() : ['test/**/*.test.ts'],
    setupFiles: ['test/setup/mediasoup-worker-bin.ts'],
    globalSetup: ['test/setup/global.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
