/**
 * Reading the meeting page from a test, through its read-only debug hook
 * (window.__meeting, src/web/debug-hook.ts). Everything here runs page.evaluate, so it
 * sees what the page sees.
 */
import type { Page } from 'playwright-core';
import type { ParticipantView } from '../../../src/signaling/protocol.js';
import { DEBUG_HOOK_NAME, type MeetingDebugHook, type MeetingState } from '../../../src/web/debug-hook.js';

/** What the page knows about the meeting, as plain data. */
export interface MeetingSnapshot {
  readonly state: MeetingState;
  readonly closeCode: number | null;
  readonly selfId: string | null;
  readonly participants: readonly ParticipantView[];
  /** Participant ids whose audio the page receives and plays. */
  readonly remoteAudio: readonly string[];
}

type PageGlobals = Record<string, MeetingDebugHook | undefined>;

/** The browser APIs used below, typed here because the test tsconfig has no DOM types. */
interface Microphone {
  getTracks(): Array<{ stop(): void }>;
}
type BrowserGlobals = Record<string, unknown> & {
  navigator: { mediaDevices: { getUserMedia(constraints: { audio: Record<string, boolean> }): Promise<Microphone> } };
};

/** The page at /m/:meetingId, joining at once as `name` when given. */
export async function openMeetingPage(page: Page, baseUrl: string, meetingId: string, name?: string): Promise<void> {
  const query = name === undefined ? '' : `?name=${encodeURIComponent(name)}`;
  await page.goto(`${baseUrl}/m/${encodeURIComponent(meetingId)}${query}`);
  await page.waitForFunction((hookName) => hookName in globalThis, DEBUG_HOOK_NAME);
}

export function readMeeting(page: Page): Promise<MeetingSnapshot> {
  return page.evaluate((hookName) => {
    const hook = (globalThis as unknown as PageGlobals)[hookName]!;
    return {
      state: hook.state,
      closeCode: hook.closeCode,
      selfId: hook.selfId,
      participants: [...hook.participants],
      remoteAudio: [...hook.remoteStreams.keys()],
    };
  }, DEBUG_HOOK_NAME);
}

export async function waitForMeetingState(page: Page, state: MeetingState, timeoutMs = 10_000): Promise<void> {
  await page.waitForFunction(
    ([hookName, wanted]) => (globalThis as unknown as PageGlobals)[hookName]?.state === wanted,
    [DEBUG_HOOK_NAME, state] as const,
    { timeout: timeoutMs },
  );
}

/** Waits until the page receives audio from at least `count` other participants. */
export async function waitForRemoteAudio(page: Page, count = 1, timeoutMs = 10_000): Promise<void> {
  await page.waitForFunction(
    ([hookName, wanted]) => ((globalThis as unknown as PageGlobals)[hookName]?.remoteStreams.size ?? 0) >= wanted,
    [DEBUG_HOOK_NAME, count] as const,
    { timeout: timeoutMs },
  );
}

/**
 * The dominant frequency (Hz) the page hears from one participant (or from the only
 * remote participant), measured with WebAudio in the page; null when it hears no tone.
 * Takes about 2 s.
 */
export function measureRemoteToneHz(page: Page, participantId?: string): Promise<number | null> {
  return page.evaluate(
    ([hookName, id]) => (globalThis as unknown as PageGlobals)[hookName]!.measureRemoteToneHz(id),
    [DEBUG_HOOK_NAME, participantId] as const,
  );
}

/** The same measurement on the browser's own (fake) microphone: checks the tone file and the meter. */
export function measureMicrophoneToneHz(page: Page): Promise<number | null> {
  return page.evaluate(async (hookName) => {
    const browser = globalThis as unknown as BrowserGlobals;
    const hook = browser[hookName] as MeetingDebugHook<Microphone>;
    const stream = await browser.navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    try {
      return await hook.measureToneHz(stream);
    } finally {
      for (const track of stream.getTracks()) track.stop();
    }
  }, DEBUG_HOOK_NAME);
}
