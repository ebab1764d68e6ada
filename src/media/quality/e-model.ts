/**
 * An estimated MOS for one direction of a call: the ITU-T G.107 E-model, simplified to
 * what the gateway can measure. Every other parameter keeps its G.107 default (room
 * noise, loudness ratings, sidetone, echo), so R starts at G.107's default rating
 * Ro − Is = 93.2, and
 *
 *   R = 93.2 − Idd(Ta) − Ie,eff(Ppl) + A, with A = 0 (no advantage factor)
 *
 * - Ta, the one-way delay in ms: only its "absolute delay" impairment Idd (G.107 §7.4,
 *   with the default mT = 100 ms, sT = 1) counts; talker and listener echo (Idte, Idle)
 *   stay at their default-parameter values, already in the 93.2.
 * - Ppl, packet loss in percent, assumed random (BurstR = 1: the gateway does not measure
 *   burstiness): Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl + Bpl) (G.107 §7.5).
 * - Ie and Bpl, the codec's equipment impairment and packet-loss robustness, from ITU-T
 *   G.113 Appendix I. Only G.711 has them there for the narrowband E-model: Ie = 0,
 *   Bpl = 25.1 (G.711 with packet loss concealment; both ends of our calls conceal).
 *   G.722 and opus are wideband codecs, rated on G.107.1's other scale, and this gateway
 *   has no published Ie/Bpl values for them that fit this model: their MOS is not
 *   estimated (undefined), rather than made up.
 *
 * The MOS is G.107 Annex B's conversion of R (conversational quality, MOS-CQE), 1 to 4.5.
 */

/** G.107's default basic signal-to-noise rating minus simultaneous impairments (Ro − Is). */
const DEFAULT_RATING = 93.2;

export interface CodecImpairment {
  /** Equipment impairment factor. */
  readonly ie: number;
  /** Packet-loss robustness factor, random loss. */
  readonly bpl: number;
}

/** G.113 Appendix I, G.711 with packet loss concealment. */
const G711: CodecImpairment = { ie: 0, bpl: 25.1 };

/** The published values we have, by the codec names SDP uses; none for G722 and opus. */
const IMPAIRMENTS: Readonly<Record<string, CodecImpairment>> = { PCMU: G711, PCMA: G711 };

export function codecImpairment(codec: string): CodecImpairment | undefined {
  return IMPAIRMENTS[codec];
}

export interface EModelInput {
  /** Packets lost, 0-1. */
  readonly lossRatio: number;
  /** Mouth-to-ear delay in one direction, ms. */
  readonly oneWayDelayMs: number;
}

export interface QualityEstimate {
  /** The transmission rating R, 0-100. */
  readonly rFactor: number;
  /** Estimated mean opinion score, 1-4.5. */
  readonly mos: number;
}

/** Idd (G.107 §7.4): no impairment up to 100 ms one way, then growing with log2(Ta / 100). */
export function delayImpairment(oneWayDelayMs: number): number {
  if (!(oneWayDelayMs > 100)) return 0;
  const x = Math.log10(oneWayDelayMs / 100) / Math.log10(2);
  return 25 * ((1 + x ** 6) ** (1 / 6) - 3 * (1 + (x / 3) ** 6) ** (1 / 6) + 2);
}

/** Ie,eff (G.107 §7.5) for random loss. */
export function lossImpairment(codec: CodecImpairment, lossRatio: number): number {
  const ppl = Math.min(100, Math.max(0, lossRatio * 100));
  return codec.ie + ((95 - codec.ie) * ppl) / (ppl + codec.bpl);
}

/** G.107 Annex B: MOS-CQE from R. */
export function mosFromRating(r: number): number {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
}

/** The estimate for a codec with published values; undefined for one without. */
export function estimateQuality(codec: string, input: EModelInput): QualityEstimate | undefined {
  const impairment = codecImpairment(codec);
  if (!impairment) return undefined;
  const r = Math.min(100, Math.max(0, DEFAULT_RATING - delayImpairment(input.oneWayDelayMs) - lossImpairment(impairment, input.lossRatio)));
  return { rFactor: round(r, 1), mos: round(mosFromRating(r), 2) };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
