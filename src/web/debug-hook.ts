/**
 * A read-only view of the page for tests driving a real browser: `window.__meeting`.
 * Free of DOM types (the stream type is a parameter) so the Node-side test harness can
 * import the same contract.
 */
import type { ParticipantView } from '../signaling/protocol.js';

export const DEBUG_HOOK_NAME = '__meeting';

export type MeetingState = 'idle' | 'joining' | 'joined' | 'left' | 'closed';

export interface MeetingDebugHook<Stream = unknown> {
  readonly meetingId: string;
  readonly state: MeetingState;
  /** The socket's close code once state is 'closed' (4404, 4410, 4409, 1006, ...). */
  readonly closeCode: number | null;
  readonly selfId: string | null;
  readonly participants: readonly ParticipantView[];
  /** Each remote participant's audio, by participant id. */
  readonly remoteStreams: ReadonlyMap<string, Stream>;
  /**
   * The dominant frequency (Hz) heard from one participant, or from the only remote
   * participant when no id is given; null when no steady tone is heard.
   */
  measureRemoteToneHz(participantId?: string): Promise<number | null>;
  /** The same measurement on any stream, e.g. the page's own getUserMedia track. */
  measureToneHz(stream: Stream): Promise<number | null>;
}

export function installDebugHook<Stream>(hook: MeetingDebugHook<Stream>): void {
  Object.defineProperty(globalThis, DEBUG_HOOK_NAME, { value: Object.freeze(hook), writable: false, enumerable: false });
}
