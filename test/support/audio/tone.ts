/**
 * Test tones: generating a sine and measuring what came back (dominant frequency, level,
 * silence). Int16 samples are full scale at 32768, Float32 samples at 1.0.
 */
import { fft, nextPowerOfTwo } from './fft.js';

export type Samples = Float32Array | Int16Array;

/** Part of a signal to measure, e.g. to skip the first jitter-buffer fill of a recording. */
export interface Segment {
  readonly fromSeconds?: number;
  readonly toSeconds?: number;
}

export interface SineToneOptions {
  readonly hz: number;
  readonly sampleRate: number;
  readonly seconds: number;
  /** Peak level, 0..1 of full scale. */
  readonly amplitude?: number;
}

export function sineTone({ hz, sampleRate, seconds, amplitude = 0.5 }: SineToneOptions): Int16Array {
  const out = new Int16Array(Math.round(seconds * sampleRate));
  const peak = amplitude * 32_767;
  for (let i = 0; i < out.length; i++) out[i] = Math.round(peak * Math.sin((2 * Math.PI * hz * i) / sampleRate));
  return out;
}

/**
 * The strongest frequency of the segment: Hann window, FFT zero-padded to at least twice
 * the segment (finer bins), then a parabola through the log magnitudes of the peak bin
 * and its neighbours, which for a Hann window lands within a small fraction of a bin.
 */
export function dominantFrequencyHz(samples: Samples, sampleRate: number, segment: Segment = {}): number {
  const signal = normalizedSegment(samples, sampleRate, segment);
  if (signal.length < 4) throw new RangeError(`segment too short to measure (${signal.length} samples)`);
  removeMean(signal);
  const size = nextPowerOfTwo(signal.length * 2);
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  const last = signal.length - 1;
  for (let i = 0; i < signal.length; i++) re[i] = signal[i]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / last));
  fft(re, im);

  const magnitude = (k: number) => Math.hypot(re[k]!, im[k]!);
  let peak = 1;
  let peakMagnitude = magnitude(1);
  for (let k = 2; k < size / 2; k++) {
    const m = magnitude(k);
    if (m > peakMagnitude) [peak, peakMagnitude] = [k, m];
  }
  if (peakMagnitude === 0) throw new RangeError('no signal in the segment');

  const logMagnitude = (k: number) => Math.log(magnitude(k) + Number.MIN_VALUE);
  const [a, b, c] = [logMagnitude(peak - 1), logMagnitude(peak), logMagnitude(peak + 1)];
  const curvature = a - 2 * b + c;
  const offset = curvature === 0 ? 0 : (0.5 * (a - c)) / curvature;
  return ((peak + offset) * sampleRate) / size;
}

/** RMS level relative to full scale (a full-scale square wave is 0 dBFS, a full-scale sine −3 dBFS); silence is −Infinity. */
export function rmsDbfs(samples: Samples, sampleRate: number, segment: Segment = {}): number {
  const signal = normalizedSegment(samples, sampleRate, segment);
  if (signal.length === 0) throw new RangeError('empty segment');
  let sum = 0;
  for (const x of signal) sum += x * x;
  return 10 * Math.log10(sum / signal.length);
}

/**
 * The level of one frequency in the signal, as the dBFS of a sine of that amplitude
 * (Goertzel over a Hann window): a tone of amplitude 0.5 reads about −9 dBFS.
 */
export function toneLevelDbfs(samples: Samples, sampleRate: number, hz: number, segment: Segment = {}): number {
  const signal = normalizedSegment(samples, sampleRate, segment);
  if (signal.length < 4) throw new RangeError(`segment too short to measure (${signal.length} samples)`);
  const coefficient = 2 * Math.cos((2 * Math.PI * hz) / sampleRate);
  const last = signal.length - 1;
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < signal.length; i++) {
    const s0 = signal[i]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / last)) + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
  // The Hann window halves a tone's amplitude on average; the RMS of a sine is amplitude/√2.
  const amplitude = (2 * Math.sqrt(Math.max(power, 0))) / (signal.length * 0.5);
  return 20 * Math.log10(amplitude / Math.SQRT2 + Number.MIN_VALUE);
}

export interface SilenceOptions extends Segment {
  /** Anything quieter than this counts as silence; G.711 idle noise is near −70 dBFS. */
  readonly thresholdDbfs?: number;
}

export function isSilent(samples: Samples, sampleRate: number, { thresholdDbfs = -50, ...segment }: SilenceOptions = {}): boolean {
  return rmsDbfs(samples, sampleRate, segment) < thresholdDbfs;
}

function normalizedSegment(samples: Samples, sampleRate: number, { fromSeconds = 0, toSeconds }: Segment): Float64Array {
  const from = Math.max(0, Math.round(fromSeconds * sampleRate));
  const to = Math.min(samples.length, toSeconds === undefined ? samples.length : Math.round(toSeconds * sampleRate));
  const scale = samples instanceof Int16Array ? 1 / 32_768 : 1;
  const out = new Float64Array(Math.max(0, to - from));
  for (let i = 0; i < out.length; i++) out[i] = samples[from + i]! * scale;
  return out;
}

function removeMean(signal: Float64Array): void {
  let sum = 0;
  for (const x of signal) sum += x;
  const mean = sum / signal.length;
  for (let i = 0; i < signal.length; i++) signal[i] = signal[i]! - mean;
}
