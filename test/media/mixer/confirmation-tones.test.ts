import { describe, expect, it } from 'vitest';
import { BEEP_GAP_MS, BEEP_MS, TONE_HZ, toneFrames } from '../../../src/media/mixer/confirmation-tones.js';
import { dominantFrequencyHz, rmsDbfs } from '../../support/audio/tone.js';

/** The frames joined, and which 20 ms frames carry sound. */
function played(frames: Int16Array[], rate: number) {
  const samples = new Int16Array(frames.reduce((sum, frame) => sum + frame.length, 0));
  frames.forEach((frame, i) => samples.set(frame, i * frame.length));
  return { samples, loud: frames.map((frame) => rmsDbfs(frame, rate) > -40) };
}

describe('toneFrames', () => {
  it.each([8000, 16000] as const)('at %i Hz: one beep when muted, two when unmuted, in 20 ms frames at the mixing rate', (rate) => {
    const muted = played(toneFrames('muted', rate), rate);
    const unmuted = played(toneFrames('unmuted', rate), rate);
    for (const frame of toneFrames('unmuted', rate)) expect(frame.length).toBe(rate / 50);
    expect(muted.loud).toEqual(Array(BEEP_MS / 20).fill(true));
    expect(unmuted.loud).toEqual([...Array(BEEP_MS / 20).fill(true), ...Array(BEEP_GAP_MS / 20).fill(false), ...Array(BEEP_MS / 20).fill(true)]);
    expect(Math.abs(dominantFrequencyHz(muted.samples, rate) - TONE_HZ)).toBeLessThan(5);
    // −12 dBFS peak: a sine's RMS is 3 dB below its peak.
    expect(rmsDbfs(muted.samples, rate)).toBeCloseTo(-15, 0);
  });

  it('starts and ends each beep without a click: the first and last samples are near silence', () => {
    const frames = toneFrames('muted', 8000);
    expect(Math.abs(frames[0]![0]!)).toBeLessThan(50);
    expect(Math.abs(frames.at(-1)!.at(-1)!)).toBeLessThan(200);
  });
});
