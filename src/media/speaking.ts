/**
 * Who is speaking. Browsers' producers are judged by mediasoup's AudioLevelObserver; a
 * phone's by its media thread, from the levels it measures on the phone's packets anyway
 * (phones' audio reaches mediasoup only while a browser listens). Both use the same rule,
 * mediasoup's: over each interval, a stream with at least 10 levelled packets whose mean
 * level is at or above the threshold speaks.
 */

/** Loudness (dBov) above which a participant counts as speaking. */
export const SPEAKING_THRESHOLD_DB = -60;
export const SPEAKING_INTERVAL_MS = 300;
/** Fewer levelled packets in an interval say nothing (mediasoup's AudioLevelObserver ignores them too). */
const MIN_PACKETS = 10;

/** One stream's RFC 6464 levels (0 = full scale, 127 = silence), judged once per interval. */
export class SpeakingDetector {
  private levelSum = 0;
  private packets = 0;
  private isSpeaking = false;

  get speaking(): boolean {
    return this.isSpeaking;
  }

  add(level: number): void {
    this.levelSum += level;
    this.packets++;
  }

  /** Ends the interval: whether the stream speaks now, and whether that changed. */
  judge(): boolean {
    const speaking = this.packets >= MIN_PACKETS && -Math.round(this.levelSum / this.packets) >= SPEAKING_THRESHOLD_DB;
    this.levelSum = 0;
    this.packets = 0;
    const changed = speaking !== this.isSpeaking;
    this.isSpeaking = speaking;
    return changed;
  }
}
