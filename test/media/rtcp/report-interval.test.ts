import { describe, expect, it } from 'vitest';
import { reportIntervalMs, type ReportIntervalInput } from '../../../src/media/rtcp/report-interval.js';

const COMPENSATION = Math.E - 1.5;
const call: Omit<ReportIntervalInput, 'random' | 'initial'> = {
  members: 2,
  senders: 2,
  sessionBandwidthBps: 80_000,
  weSent: true,
  averageRtcpSize: 100,
};

describe('reportIntervalMs (RFC 3550 §6.2, §6.3.1, A.7)', () => {
  it.each<[string, Partial<ReportIntervalInput> & { random: () => number; initial: boolean }, number]>([
    ['the 5 s minimum for audio bandwidths, randomised by 1.0 (random 0.5) and compensated', { initial: false, random: () => 0.5 }, 5000 / COMPENSATION],
    ['half the minimum for the first report', { initial: true, random: () => 0.5 }, 2500 / COMPENSATION],
    ['the low end of the randomisation, × 0.5', { initial: false, random: () => 0 }, 2500 / COMPENSATION],
    ['near the high end of the randomisation, × 1.5', { initial: false, random: () => 0.999999 }, (5000 * 1.499999) / COMPENSATION],
    // 1 kbit/s: RTCP gets 6.25 octets/s; 2 members × 100 octets / 6.25 = 32 s.
    ['the bandwidth share when it is longer than the minimum', { sessionBandwidthBps: 1000, initial: false, random: () => 0.5 }, 32_000 / COMPENSATION],
    // No sender (0 ≤ 2 × 1/4): receivers share 3/4 of 6.25 octets/s; 2 × 100 / 4.6875 s.
    ['the receivers\' share when nobody sends', { sessionBandwidthBps: 1000, senders: 0, weSent: false, initial: false, random: () => 0.5 }, (200 / 4.6875) * 1000 / COMPENSATION],
  ])('gives %s', (_name, input, expected) => {
    expect(reportIntervalMs({ ...call, ...input })).toBeCloseTo(expected, 6);
  });

  it('stays within [2.05 s, 6.16 s) for a call at any randomisation', () => {
    for (let random = 0; random < 1; random += 0.01) {
      const interval = reportIntervalMs({ ...call, initial: false, random: () => random });
      expect(interval).toBeGreaterThanOrEqual(2052);
      expect(interval).toBeLessThan(6157);
    }
  });
});
