import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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
  'test/sip/dial-out.test.ts',
  'test/sip/trunk-registration.test.ts',
  'test/sip/trunk-inbound.test.ts',
  'test/sip/rfc4475-torture.test.ts',
  'test/sip/session-timer-wire.test.ts',
  'test/sip/call-limits-wire.test.ts',
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

/**
 * The test files that talk to drachtio-server: those that call drachtioTarget() or
 * restartableDrachtio(). With
 * DRACHTIO_SERVER_BIN set (npm run test:drachtio-server), only these run, each against its
 * own real server. The replays (test/drachtio-standin/replay-*) are not among them: they
 * hold the stand-in to the real server's recorded transcripts frame by frame, and against a
 * live real server on a loaded machine the interleaving of its frames and its answers within
 * their 3 s waits vary (1 failure in about 5 runs here); answer-timing.test.ts checks the
 * orderings that matter on both. TEST_DRACHTIO_ADDRESS still runs them against a server.
 */
const talksToDrachtio = (file: string) => /\b(drachtioTarget|restartableDrachtio)\(/.test(readFileSync(join(ROOT, file), 'utf8'));

const files = process.env.DRACHTIO_SERVER_BIN ? testFiles().filter(talksToDrachtio) : testFiles();

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
