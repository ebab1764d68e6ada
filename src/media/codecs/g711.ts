/**
 * G.711 µ-law (PCMU) and A-law (PCMA), table-based: the encode tables map every 16-bit
 * sample, the decode tables every code byte, both built once from the G.711 algorithm
 * as the ITU-T G.191 reference code and Sun's public-domain g711.c implement it.
 */
export type G711Law = 'PCMU' | 'PCMA';

const SEGMENT_ENDS_ALAW = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
const SEGMENT_ENDS_ULAW = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];
const ULAW_BIAS = 0x84;
const ULAW_CLIP = 8159;

function segment(value: number, ends: readonly number[]): number {
  const index = ends.findIndex((end) => value <= end);
  return index === -1 ? ends.length : index;
}

function linearToAlaw(sample: number): number {
  // A-law works on 13 bits, negative samples by their one's complement.
  const mask = sample < 0 ? 0x55 : 0xd5;
  const value = (sample < 0 ? ~sample : sample) >> 3;
  const seg = segment(value, SEGMENT_ENDS_ALAW);
  if (seg >= 8) return 0x7f ^ mask;
  const quantized = seg < 2 ? (value >> 1) & 0x0f : (value >> seg) & 0x0f;
  return ((seg << 4) | quantized) ^ mask;
}

function alawToLinear(code: number): number {
  const a = code ^ 0x55;
  const seg = (a & 0x70) >> 4;
  let t = (a & 0x0f) << 4;
  if (seg === 0) t += 8;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

function linearToUlaw(sample: number): number {
  // µ-law works on 14 bits; the one's complement puts −1..−4 next to 0, as ITU-T G.191 does.
  const mask = sample < 0 ? 0x7f : 0xff;
  const value = Math.min((sample < 0 ? ~sample : sample) >> 2, ULAW_CLIP) + (ULAW_BIAS >> 2);
  const seg = segment(value, SEGMENT_ENDS_ULAW);
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | ((value >> (seg + 1)) & 0x0f)) ^ mask;
}

function ulawToLinear(code: number): number {
  const u = ~code & 0xff;
  const t = (((u & 0x0f) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);
  return u & 0x80 ? ULAW_BIAS - t : t - ULAW_BIAS;
}

function encodeTable(encode: (sample: number) => number): Uint8Array {
  const table = new Uint8Array(65_536);
  for (let sample = -32_768; sample < 32_768; sample++) table[sample + 32_768] = encode(sample);
  return table;
}

function decodeTable(decode: (code: number) => number): Int16Array {
  return Int16Array.from({ length: 256 }, (_, code) => decode(code));
}

const ENCODE: Record<G711Law, Uint8Array> = { PCMU: encodeTable(linearToUlaw), PCMA: encodeTable(linearToAlaw) };
const DECODE: Record<G711Law, Int16Array> = { PCMU: decodeTable(ulawToLinear), PCMA: decodeTable(alawToLinear) };

const SQUARES: Record<G711Law, Float64Array> = {
  PCMU: Float64Array.from(DECODE.PCMU, (sample) => sample * sample),
  PCMA: Float64Array.from(DECODE.PCMA, (sample) => sample * sample),
};

/** The sum of the squared decoded samples, without decoding: for levels on every packet. */
export function g711Energy(law: G711Law, codes: Uint8Array): number {
  const squares = SQUARES[law];
  let energy = 0;
  for (let i = 0; i < codes.length; i++) energy += squares[codes[i]!]!;
  return energy;
}

export function g711Encode(law: G711Law, samples: Int16Array, out: Buffer = Buffer.allocUnsafe(samples.length)): Buffer {
  const table = ENCODE[law];
  for (let i = 0; i < samples.length; i++) out[i] = table[samples[i]! + 32_768]!;
  return out;
}

export function g711Decode(law: G711Law, codes: Uint8Array, out = new Int16Array(codes.length)): Int16Array {
  const table = DECODE[law];
  for (let i = 0; i < codes.length; i++) out[i] = table[codes[i]!]!;
  return out;
}
