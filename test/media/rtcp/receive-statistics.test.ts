import { describe, expect, it } from 'vitest';
import { ReceiveStatistics } from '../../../src/media/rtcp/receive-statistics.js';

/** A source that saw these sequence numbers, in this order. */
function received(sequences: readonly number[], clockRate = 8000) {
  const statistics = new ReceiveStatistics(0x1234, sequences[0]!, clockRate);
  const counted = sequences.map((sequence) => statistics.countSequence(sequence));
  return { statistics, counted };
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, index) => (from + index) & 0xffff);

describe('ReceiveStatistics: sequence numbers (RFC 3550 A.1) and loss (A.3)', () => {
  it('keeps a new source on probation for its first packet and counts from the second', () => {
    const { statistics, counted } = received([100, 101, 102]);
    expect(counted).toEqual([false, true, true]);
    expect(statistics).toMatchObject({ counting: true, packetsReceived: 2, expected: 2, cumulativeLost: 0, extendedHighestSequence: 102 });
  });

  it('restarts probation when the first packets are not in sequence', () => {
    const { statistics, counted } = received([100, 300, 301, 302]);
    expect(counted).toEqual([false, false, true, true]);
    expect(statistics).toMatchObject({ packetsReceived: 2, expected: 2, extendedHighestSequence: 302 });
  });

  it('counts a wrap of the 16-bit sequence number into the extended highest sequence number', () => {
    const { statistics } = received(range(65533, 10)); // 65533 ... 65535, 0 ... 6
    expect(statistics.extendedHighestSequence).toBe(0x10000 + 6);
    expect(statistics).toMatchObject({ packetsReceived: 9, expected: 9, cumulativeLost: 0 });
  });

  it('counts missing packets as lost and reports the fraction lost per interval in 1/256', () => {
    const sequences = range(1000, 20).filter((sequence) => ![1005, 1006, 1010].includes(sequence));
    const { statistics } = received(sequences);
    // Counting starts at 1001 (1000 is probation): 19 expected, 16 received.
    expect(statistics).toMatchObject({ expected: 19, packetsReceived: 16, cumulativeLost: 3 });
    expect(statistics.takeFractionLost()).toBe(Math.floor((3 * 256) / 19));
    expect(statistics.receivedSinceLastReport).toBe(false);
    range(1020, 10).forEach((sequence) => statistics.countSequence(sequence));
    expect(statistics.takeFractionLost()).toBe(0);
    expect(statistics).toMatchObject({ cumulativeLost: 3, extendedHighestSequence: 1029 });
  });

  it('takes a late packet back from the loss count without moving the highest sequence number back', () => {
    const { statistics } = received([1, 2, 3, 5, 6]);
    expect(statistics).toMatchObject({ cumulativeLost: 1, extendedHighestSequence: 6 });
    expect(statistics.countSequence(4)).toBe(true);
    expect(statistics).toMatchObject({ cumulativeLost: 0, extendedHighestSequence: 6, packetsReceived: 5 });
  });

  it('takes a packet that arrives late across the wrap without counting another cycle', () => {
    const { statistics } = received([65533, 65534, 0, 1, 65535]);
    expect(statistics).toMatchObject({ extendedHighestSequence: 0x10001, expected: 4, packetsReceived: 4, cumulativeLost: 0 });
  });

  it('counts duplicates, so the cumulative loss can go negative (A.3)', () => {
    const { statistics } = received([1, 2, 3, 3, 4]);
    expect(statistics).toMatchObject({ expected: 3, packetsReceived: 4, cumulativeLost: -1 });
  });

  it('counts a gap shorter than the dropout limit (3000) as loss', () => {
    const { statistics } = received([1, 2, 2002, 2003]);
    expect(statistics).toMatchObject({ expected: 2002, packetsReceived: 3, cumulativeLost: 1999 });
  });

  it('ignores one packet that jumps far, and restarts counting when the next follows it', () => {
    const { statistics, counted } = received([1, 2, 3, 40000, 4]);
    expect(counted.slice(3)).toEqual([false, true]);
    expect(statistics).toMatchObject({ expected: 3, packetsReceived: 3, extendedHighestSequence: 4 });
    expect(statistics.countSequence(50000)).toBe(false);
    expect(statistics.countSequence(50001)).toBe(true);
    expect(statistics).toMatchObject({ expected: 1, packetsReceived: 1, cumulativeLost: 0, extendedHighestSequence: 50001 });
  });
});

describe('ReceiveStatistics: interarrival jitter (RFC 3550 A.8)', () => {
  const PACKET_MS = 20;
  const PACKET_UNITS = 160; // 20 ms at 8 kHz

  it('is 0 for packets that arrive exactly as their timestamps say, across the 32-bit timestamp wrap', () => {
    const statistics = new ReceiveStatistics(1, 0, 8000);
    for (let i = 0; i < 50; i++) statistics.updateJitter((0xffffff00 + i * PACKET_UNITS) >>> 0, 1000 + i * PACKET_MS);
    expect(statistics.jitter).toBe(0);
  });

  it('converges to |D| for arrivals alternately on time and 5 ms late: J(n) = |D| (1 - (15/16)^n)', () => {
    // Every transit difference D is ±5 ms = 40 units, so after n differences J = 40 (1 - (15/16)^n).
    const statistics = new ReceiveStatistics(1, 0, 8000);
    const packets = 11;
    for (let i = 0; i < packets; i++) statistics.updateJitter(i * PACKET_UNITS, i * PACKET_MS + (i % 2) * 5);
    const expected = 40 * (1 - (15 / 16) ** (packets - 1));
    expect(statistics.jitter).toBeCloseTo(expected, 9);
    expect(statistics.jitterMs).toBeCloseTo(expected / 8, 9);
    for (let i = packets; i < 400; i++) statistics.updateJitter(i * PACKET_UNITS, i * PACKET_MS + (i % 2) * 5);
    expect(statistics.jitterMs).toBeCloseTo(5, 6);
  });

  it('measures one late packet as two transit differences of its delay, in the clock rate of the stream', () => {
    // At 48 kHz: one packet 10 ms late gives D = +480 then -480 units.
    const statistics = new ReceiveStatistics(1, 0, 48000);
    const arrivals = [0, 20, 50, 60];
    arrivals.forEach((arrivalMs, i) => statistics.updateJitter(i * 960, arrivalMs));
    const afterFirst = 480 / 16;
    const afterSecond = afterFirst + (480 - afterFirst) / 16;
    expect(statistics.jitter).toBeCloseTo(afterSecond, 9);
    expect(statistics.jitterMs).toBeCloseTo((afterSecond * 1000) / 48000, 9);
  });
});
