import { describe, expect, it } from 'vitest';
import { SpeakingDetector } from '../../src/media/speaking.js';

/** One interval of `packets` packets at RFC 6464 `level` (−dBov), judged. */
function interval(detector: SpeakingDetector, packets: number, level: number): boolean {
  for (let i = 0; i < packets; i++) detector.add(level);
  return detector.judge();
}

describe('SpeakingDetector (mediasoup\'s AudioLevelObserver rule: ≥ 10 packets, mean ≥ −60 dBov)', () => {
  it('speaks at a mean of −60 dBov and above, not at −61', () => {
    const detector = new SpeakingDetector();
    expect(interval(detector, 15, 61)).toBe(false);
    expect(detector.speaking).toBe(false);
    expect(interval(detector, 15, 60)).toBe(true);
    expect(detector.speaking).toBe(true);
  });

  it('judges the mean of the interval: loud words between silences count when they bring it over', () => {
    const detector = new SpeakingDetector();
    for (let i = 0; i < 10; i++) detector.add(127);
    for (let i = 0; i < 5; i++) detector.add(0);
    // (10 × 127 + 5 × 0) / 15 ≈ 84.7 → −85 dBov: silence.
    expect(detector.judge()).toBe(false);
    for (let i = 0; i < 5; i++) detector.add(90);
    for (let i = 0; i < 10; i++) detector.add(20);
    // (5 × 90 + 10 × 20) / 15 ≈ 43.3 → −43 dBov: speaking.
    expect(detector.judge()).toBe(true);
  });

  it('says nothing from fewer than 10 packets: a stream that stops stops speaking', () => {
    const detector = new SpeakingDetector();
    expect(interval(detector, 9, 10)).toBe(false);
    expect(interval(detector, 15, 10)).toBe(true);
    expect(interval(detector, 0, 0)).toBe(true);
    expect(detector.speaking).toBe(false);
  });

  it('reports a change only once: the same state again is no change', () => {
    const detector = new SpeakingDetector();
    expect(interval(detector, 15, 20)).toBe(true);
    expect(interval(detector, 15, 20)).toBe(false);
    expect(detector.speaking).toBe(true);
  });
});
