/**
 * The short tones a caller hears when its mute changes (by an operator through the call
 * API, or by the caller keying *6): one beep when muted, two when unmuted, as the
 * dial-ins of Zoom and Daily confirm it. Made in the media thread at the leg's mixing
 * rate, added to what the leg hears, and encoded with it in the leg's codec.
 *
 * Every beep is a 1400 Hz sine of 200 ms at −12 dBFS peak (clear of speech's strongest
 * band, and loud enough over a busy meeting without startling), with 10 ms raised-cosine
 * ramps so it starts and stops without a click; the two beeps of `unmuted` are 100 ms apart.
 */
import type { MixRate } from '../codecs/frame-codecs.js';
import { FRAMES_PER_SECOND } from './mixer-input.js';

export type ConfirmationTone = 'muted' | 'unmuted';

export const TONE_HZ = 1400;
export const BEEP_MS = 200;
export const BEEP_GAP_MS = 100;
/** −12 dBFS peak. */
const PEAK = Math.round(32_767 * 10 ** (-12 / 20));
const RAMP_MS = 10;

const BEEPS: Record<ConfirmationTone, number> = { muted: 1, unmuted: 2 };

/** The tone as 20 ms frames at `rate`, ready to add to a leg's mix. */
export function toneFrames(tone: ConfirmationTone, rate: MixRate): Int16Array[] {
  const beepSamples = (BEEP_MS * rate) / 1000;
  const gapSamples = (BEEP_GAP_MS * rate) / 1000;
  const rampSamples = (RAMP_MS * rate) / 1000;
  const beeps = BEEPS[tone];
  const total = beeps * beepSamples + (beeps - 1) * gapSamples;
  const frameSamples = rate / FRAMES_PER_SECOND;
  const signal = new Int16Array(Math.ceil(total / frameSamples) * frameSamples);
  for (let beep = 0; beep < beeps; beep++) {
    const start = beep * (beepSamples + gapSamples);
    for (let i = 0; i < beepSamples; i++) {
      const edge = Math.min(i, beepSamples - 1 - i);
      const envelope = edge >= rampSamples ? 1 : 0.5 - 0.5 * Math.cos((Math.PI * edge) / rampSamples);
      signal[start + i] = Math.round(PEAK * envelope * Math.sin((2 * Math.PI * TONE_HZ * i) / rate));
    }
  }
  const frames: Int16Array[] = [];
  for (let offset = 0; offset < signal.length; offset += frameSamples) frames.push(signal.subarray(offset, offset + frameSamples));
  return frames;
}
