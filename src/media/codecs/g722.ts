/**
 * ITU-T G.722 at 64 kbit/s, the mode RTP carries (RFC 3551 §4.5.2: 16 kHz audio, one
 * byte per pair of samples): sub-band ADPCM, a 6-bit lower band and a 2-bit upper band
 * split by a 24-tap QMF. Integer arithmetic throughout, with the saturation and 16-bit
 * truncation of the ITU fixed-point description, so the output is bit-exact with the
 * reference (the tests compare it with spandsp's ITU-validated implementation). Decoded
 * samples that overflow 16 bits saturate (spandsp 0.0.6 lets them wrap into clicks).
 * Block names (QUANTL, LOGSCL, UPPOL2...) are the ITU's.
 */

/** The QMF's coefficients, oldest sample first; the other filter is the same reversed. */
const QMF_FORWARD = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11];
const QMF_REVERSE = [...QMF_FORWARD].reverse();

/** Lower band: 6-bit quantizer thresholds, codes for negative and positive differences. */
const Q6 = [0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0];
const ILN = [0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0];
const ILP = [0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0];
/** Inverse quantizers: 6-bit (decoder output), 4-bit (predictor input), 2-bit (upper band). */
const QM6 = [
  -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008,
  -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
  4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];
const QM4 = [0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0];
const QM2 = [-7408, -1616, 7408, 1616];
/** Log scale factor adaptation: multipliers per code, and the code → multiplier index maps. */
const WL = [-60, -30, 58, 172, 334, 538, 1198, 3042];
const RL42 = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
const WH = [0, -214, 798];
const RH2 = [2, 1, 2, 1];
/** Upper band codes for a small or large difference, negative and positive. */
const IHN = [0, 1, 0];
const IHP = [0, 3, 2];
/** Inverse log table for the scale factor (SCALEL/SCALEH). */
const ILB = [
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676,
  3756, 3838, 3922, 4008,
];

const LOW_NB_MAX = 18432;
const HIGH_NB_MAX = 22528;

const saturate16 = (x: number) => (x > 32767 ? 32767 : x < -32768 ? -32768 : x);
const saturate15 = (x: number) => (x > 16383 ? 16383 : x < -16384 ? -16384 : x);
/** C's (int16_t) cast: keep the low 16 bits, signed. */
const int16 = (x: number) => (x << 16) >> 16;
/** Whether two 16-bit values differ in sign bit. */
const signsDiffer = (x: number, y: number) => ((x ^ y) & 0x8000) !== 0;

/** One sub-band's adaptive predictor and scale factor. */
class SubBand {
  /** Signal estimate, and the zero-section part of it. */
  s = 0;
  sz = 0;
  /** Last reconstructed signal, and the last two partial reconstructions. */
  r = 0;
  readonly p = [0, 0];
  /** Pole (a) and zero (b) predictor coefficients, and the last seven differences. */
  readonly a = [0, 0];
  readonly b = [0, 0, 0, 0, 0, 0];
  readonly d = [0, 0, 0, 0, 0, 0, 0];
  /** Log scale factor and the scale factor it gives. */
  nb = 0;

  constructor(
    public det: number,
    private readonly nbMax: number,
    private readonly scaleShift: number,
  ) {}

  /**
   * One sample on: the code's inverse-quantized difference at the current scale (INVQAL/
   * INVQAH), then the scale factor and predictor adapt to it.
   */
  advance(inverseQuantized: number, multiplier: number): void {
    const dx = int16((this.det * inverseQuantized) >> 15);
    this.adaptScale(multiplier);
    this.adaptPredictor(dx);
  }

  /** LOGSCL/LOGSCH then SCALEL/SCALEH: adapt the scale factor to the code just used. */
  private adaptScale(multiplier: number): void {
    const nb = ((this.nb * 127) >> 7) + multiplier;
    this.nb = nb < 0 ? 0 : nb > this.nbMax ? this.nbMax : nb;
    const mantissa = ILB[(this.nb >> 6) & 31]!;
    const shift = this.scaleShift - (this.nb >> 11);
    this.det = int16((shift < 0 ? mantissa << -shift : mantissa >> shift) << 2);
  }

  /** Block 4: reconstruct, update the pole and zero predictors, predict the next sample. */
  private adaptPredictor(dx: number): void {
    const r = saturate16(this.s + dx); // RECONS
    const p = saturate16(this.sz + dx); // PARREC
    const [a0, a1] = this.a as [number, number];
    const [p0, p1] = this.p as [number, number];

    // UPPOL2
    const fourA0 = saturate16(a0 << 2);
    let wd = signsDiffer(p, p0) ? fourA0 : -fourA0;
    if (wd > 32767) wd = 32767;
    let ap1 = int16((signsDiffer(p, p1) ? -128 : 128) + (wd >> 7) + ((a1 * 32512) >> 15));
    if (Math.abs(ap1) > 12288) ap1 = ap1 < 0 ? -12288 : 12288;

    // UPPOL1
    let ap0 = saturate16((signsDiffer(p, p0) ? -192 : 192) + int16((a0 * 32640) >> 15));
    const limit = saturate16(15360 - ap1);
    if (Math.abs(ap0) > limit) ap0 = ap0 < 0 ? -limit : limit;

    // FILTEP
    const sp = saturate16(int16((ap0 * saturate16(r + r)) >> 15) + int16((ap1 * saturate16(this.r + this.r)) >> 15));
    this.r = r;
    this.a[0] = ap0;
    this.a[1] = ap1;
    this.p[1] = p0;
    this.p[0] = p;

    // UPZERO, DELAYA, FILTEZ
    const step = dx === 0 ? 0 : 128;
    const { b, d } = this;
    d[0] = dx;
    let sz = 0;
    for (let i = 5; i >= 0; i--) {
      b[i] = saturate16((signsDiffer(d[i + 1]!, dx) ? -step : step) + int16((b[i]! * 32640) >> 15));
      sz += (b[i]! * saturate16(d[i]! + d[i]!)) >> 15;
      d[i + 1] = d[i]!;
    }
    this.sz = saturate16(sz);
    this.s = saturate16(sp + this.sz); // PREDIC
  }
}

/** A 12-sample ring for one QMF branch. */
class QmfLine {
  private readonly samples = new Int32Array(12);
  private next = 0;

  push(sample: number): void {
    this.samples[this.next] = sample;
    this.next = (this.next + 1) % 12;
  }

  /** The dot product with the coefficients, oldest sample first. */
  filter(coefficients: readonly number[]): number {
    let sum = 0;
    for (let k = 0; k < 12; k++) sum += this.samples[(this.next + k) % 12]! * coefficients[k]!;
    return sum;
  }
}

export class G722Encoder {
  private readonly low = new SubBand(32, LOW_NB_MAX, 8);
  private readonly high = new SubBand(8, HIGH_NB_MAX, 10);
  private readonly even = new QmfLine();
  private readonly odd = new QmfLine();

  /** 16 kHz samples (an even count) → one G.722 byte per pair, into `out` when given. */
  encode(pcm: Int16Array, out: Buffer = Buffer.allocUnsafe(pcm.length >> 1)): Buffer {
    for (let j = 0; j + 1 < pcm.length; j += 2) out[j >> 1] = this.encodePair(pcm[j]!, pcm[j + 1]!);
    return out;
  }

  private encodePair(first: number, second: number): number {
    // Transmit QMF: split into the lower and upper band at 8 kHz each.
    this.odd.push(first);
    this.even.push(second);
    const sumOdd = this.odd.filter(QMF_FORWARD);
    const sumEven = this.even.filter(QMF_REVERSE);
    const xLow = int16((sumEven + sumOdd) >> 14);
    const xHigh = int16((sumEven - sumOdd) >> 14);
    const ilow = this.encodeLow(xLow);
    const ihigh = this.encodeHigh(xHigh);
    return (ihigh << 6) | ilow;
  }

  private encodeLow(xLow: number): number {
    const band = this.low;
    const el = saturate16(xLow - band.s); // SUBTRA
    // QUANTL: the first threshold above |el|.
    const magnitude = el >= 0 ? el : ~el;
    let i = 1;
    while (i < 30 && magnitude >= (Q6[i]! * band.det) >> 12) i++;
    const ilow = el < 0 ? ILN[i]! : ILP[i]!;
    band.advance(QM4[ilow >> 2]!, WL[RL42[ilow >> 2]!]!);
    return ilow;
  }

  private encodeHigh(xHigh: number): number {
    const band = this.high;
    const eh = saturate16(xHigh - band.s); // SUBTRA
    // QUANTH
    const magnitude = eh >= 0 ? eh : ~eh;
    const large = magnitude >= (564 * band.det) >> 12 ? 2 : 1;
    const ihigh = eh < 0 ? IHN[large]! : IHP[large]!;
    band.advance(QM2[ihigh]!, WH[RH2[ihigh]!]!);
    return ihigh;
  }
}

export class G722Decoder {
  private readonly low = new SubBand(32, LOW_NB_MAX, 8);
  private readonly high = new SubBand(8, HIGH_NB_MAX, 10);
  private readonly sum = new QmfLine();
  private readonly difference = new QmfLine();

  /** G.722 bytes → 16 kHz samples, two per byte, into `out` when given. */
  decode(payload: Uint8Array, out = new Int16Array(payload.length * 2)): Int16Array {
    for (let j = 0; j < payload.length; j++) {
      const code = payload[j]!;
      const rlow = this.decodeLow(code & 0x3f);
      const rhigh = this.decodeHigh(code >> 6);
      // Receive QMF: recombine the bands into two samples at 16 kHz.
      this.sum.push(saturate16(rlow + rhigh));
      this.difference.push(saturate16(rlow - rhigh));
      out[2 * j] = saturate16(this.difference.filter(QMF_REVERSE) >> 11);
      out[2 * j + 1] = saturate16(this.sum.filter(QMF_FORWARD) >> 11);
    }
    return out;
  }

  private decodeLow(ilow: number): number {
    const band = this.low;
    const rlow = saturate15(band.s + ((band.det * QM6[ilow]!) >> 15)); // INVQBL, RECONS, LIMIT
    band.advance(QM4[ilow >> 2]!, WL[RL42[ilow >> 2]!]!);
    return rlow;
  }

  private decodeHigh(ihigh: number): number {
    const band = this.high;
    const rhigh = saturate15(band.s + int16((band.det * QM2[ihigh]!) >> 15)); // INVQAH, RECONS, LIMIT
    band.advance(QM2[ihigh]!, WH[RH2[ihigh]!]!);
    return rhigh;
  }
}
