import { describe, expect, it } from 'vitest';
import { assessQuality } from '../../../src/media/quality/call-quality.js';
import { delayImpairment, estimateQuality, lossImpairment, mosFromRating } from '../../../src/media/quality/e-model.js';

const G711 = { ie: 0, bpl: 25.1 };

describe('the E-model (ITU-T G.107, simplified)', () => {
  it('rates a clean G.711 call at the default R of 93.2, MOS 4.41', () => {
    expect(estimateQuality('PCMU', { lossRatio: 0, oneWayDelayMs: 60 })).toEqual({ rFactor: 93.2, mos: 4.41 });
    expect(estimateQuality('PCMA', { lossRatio: 0, oneWayDelayMs: 0 })).toEqual({ rFactor: 93.2, mos: 4.41 });
  });

  it('maps R to MOS as G.107 Annex B does, 1 to 4.5', () => {
    expect(mosFromRating(-5)).toBe(1);
    expect(mosFromRating(0)).toBe(1);
    expect(mosFromRating(50)).toBeCloseTo(2.58, 2);
    expect(mosFromRating(80)).toBeCloseTo(4.02, 2);
    expect(mosFromRating(100)).toBe(4.5);
    expect(mosFromRating(120)).toBe(4.5);
  });

  it('charges no delay up to 100 ms one way, then Idd as G.107 §7.4 gives it', () => {
    expect(delayImpairment(0)).toBe(0);
    expect(delayImpairment(100)).toBe(0);
    // X = log2(2) = 1 at 200 ms: 25 · ((2)^(1/6) − 3 · (1 + 1/729)^(1/6) + 2)
    expect(delayImpairment(200)).toBeCloseTo(25 * (2 ** (1 / 6) - 3 * (1 + 1 / 729) ** (1 / 6) + 2), 10);
    expect(delayImpairment(200)).toBeCloseTo(3.04, 2);
    expect(delayImpairment(400)).toBeGreaterThan(delayImpairment(200));
    // X = 2 at 400 ms: R falls near 70, as G.114's curve of the E-model shows.
    expect(delayImpairment(400)).toBeCloseTo(24.07, 2);
  });

  it('charges random loss through Ie,eff with G.711\'s Bpl of 25.1', () => {
    expect(lossImpairment(G711, 0)).toBe(0);
    // 1 %: 95 · 1 / (1 + 25.1)
    expect(lossImpairment(G711, 0.01)).toBeCloseTo(95 / 26.1, 10);
    expect(lossImpairment(G711, 1)).toBeCloseTo((95 * 100) / 125.1, 10);
    const onePercent = estimateQuality('PCMU', { lossRatio: 0.01, oneWayDelayMs: 60 })!;
    expect(onePercent.rFactor).toBeCloseTo(93.2 - 95 / 26.1, 1);
    expect(onePercent.mos).toBeCloseTo(4.33, 2);
    const fivePercent = estimateQuality('PCMU', { lossRatio: 0.05, oneWayDelayMs: 60 })!;
    expect(fivePercent.mos).toBeLessThan(onePercent.mos);
    expect(fivePercent.rFactor).toBeCloseTo(93.2 - (95 * 5) / 30.1, 1);
  });

  it('estimates nothing for codecs without published Ie and Bpl values (G.722, opus)', () => {
    expect(estimateQuality('G722', { lossRatio: 0, oneWayDelayMs: 60 })).toBeUndefined();
    expect(estimateQuality('opus', { lossRatio: 0, oneWayDelayMs: 60 })).toBeUndefined();
  });
});

describe('a call\'s quality per direction', () => {
  const stats = {
    received: { packets: 990, lost: 10, fractionLost: 0.01, jitterMs: 4 },
    sent: { packets: 1000, octets: 160_000 },
    reportedByPhone: { fractionLost: 0.02, cumulativeLost: 20, jitterMs: 12, atMs: 0 },
    roundTripMs: 80,
  };

  it('rates what the meeting hears from our receive statistics and what the caller hears from the phone\'s reports', () => {
    const report = assessQuality(stats, { codec: 'PCMU', ptimeMs: 20 });
    expect(report.codec).toBe('PCMU');
    expect(report.roundTripMs).toBe(80);
    // 10 of 1000 lost; delay 40 + 20 + 20 ms.
    expect(report.fromPhone).toMatchObject({ packets: 990, lost: 10, lossRatio: 0.01, jitterMs: 4 });
    expect(report.fromPhone!.mos).toEqual(estimateQuality('PCMU', { lossRatio: 0.01, oneWayDelayMs: 80 })!.mos);
    // 20 of the 1000 we sent; delay 40 + 20 + 24 ms.
    expect(report.toPhone).toMatchObject({ lost: 20, lossRatio: 0.02, jitterMs: 12 });
    expect(report.toPhone!.rFactor).toEqual(estimateQuality('PCMU', { lossRatio: 0.02, oneWayDelayMs: 84 })!.rFactor);
    expect(report.mosUnavailable).toBeUndefined();
  });

  it('says why there is no MOS for a codec without published values, and still shows loss and jitter', () => {
    const report = assessQuality(stats, { codec: 'G722', ptimeMs: 20 });
    expect(report.fromPhone).toMatchObject({ lossRatio: 0.01, jitterMs: 4 });
    expect(report.fromPhone!.mos).toBeUndefined();
    expect(report.mosUnavailable).toBe('no published E-model values (Ie, Bpl) for G722');
  });

  it('has no direction before its statistics exist', () => {
    const report = assessQuality({ sent: { packets: 0, octets: 0 } }, { codec: 'PCMU', ptimeMs: 20 });
    expect(report).toEqual({ codec: 'PCMU' });
  });
});
