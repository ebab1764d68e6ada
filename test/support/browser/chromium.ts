/**
 * A real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) whose
 * fake microphone plays a sine tone, for end-to-end tests of the meeting page. The tone
 * file is per browser process, so two different tones need two launches.
 * Flags and facts: ../shared/e2e-recipe.md (beside the project root).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { writeToneWav } from './tone-wav.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const LAUNCH_TIMEOUT_MS = 30_000;

export interface LaunchChromiumOptions {
  /** The frequency the fake microphone plays. */
  readonly toneHz: number;
}

export interface LaunchedChromium {
  readonly context: BrowserContext;
  readonly toneHz: number;
  /** Uncaught exceptions and unhandled rejections of the pages opened with newPage(). */
  readonly pageErrors: readonly string[];
  /** Their console warnings and errors, for failure messages. */
  readonly consoleMessages: readonly string[];
  newPage(): Promise<Page>;
  /** Closes the browser (if still alive) and removes its profile and tone file. Safe to call twice. */
  close(): Promise<void>;
}

export async function launchChromium({ toneHz }: LaunchChromiumOptions): Promise<LaunchedChromium> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is missing at ${CHROMIUM_PATH}: run bash scripts/setup.sh --test`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'gateway-chromium-'));
  const toneFile = join(dir, `tone-${toneHz}hz.wav`);
  let context: BrowserContext;
  try {
    await writeToneWav(toneFile, { hz: toneHz });
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: chromiumArgs(toneFile),
      timeout: LAUNCH_TIMEOUT_MS,
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const pageErrors: string[] = [];
  const consoleMessages: string[] = [];
  let closed = false;
  return {
    context,
    toneHz,
    pageErrors,
    consoleMessages,
    async newPage() {
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') consoleMessages.push(`${message.type()}: ${message.text()}`);
      });
      return page;
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await context.close();
      } catch (error) {
        // A test may have killed the browser on purpose; then there is nothing left to close.
        if (!/has been closed/.test((error as Error).message)) throw error;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The recipe's flags: without the background-networking ones Chromium floods the closed network. */
function chromiumArgs(toneFile: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${toneFile}`,
  ];
}
