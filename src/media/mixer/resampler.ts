/**
 * 16 kHz ↔ 8 kHz for the mixer. When a meeting has both G.722 legs (16 kHz) and G.711
 * legs (8 kHz), each talker is decoded once and converted here rather than decoded
 * twice. Both directions use one windowed-sinc low-pass at 16 kHz (cut at 3.7 kHz):
 * going down it keeps anything above the new 4 kHz Nyquist from folding back into the
 * voice band; going up it removes the image that inserting zeros creates. Each keeps
 * its history across frames, so 20 ms at a time gives the same as all at once.
 */

const TAPS = 47;
const CUTOFF_HZ = 3700;
const HIGH_RATE = 16_000;

/** Blackman-windowed sinc, normalized to unity gain at DC. */
function lowPass(): Float64Array {
  const taps = new Float64Array(TAPS);
  const middle = (TAPS - 1) / 2;
  const fc = CUTOFF_HZ / HIGH_RATE;
  for (let n = 0; n < TAPS; n++) {
    const x = n - middle;
    const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
    const window = 0.42 - 0.5 * Math.cos((2 * Math.PI * n) / (TAPS - 1)) + 0.08 * Math.cos((4 * Math.PI * n) / (TAPS - 1));
    taps[n] = sinc * window;
  }
  const gain = taps.reduce((sum, tap) => sum + tap, 0);
  return taps.map((tap) => tap / gain);
}

const COEFFICIENTS = lowPass();
const HISTORY = TAPS - 1;

/** The low-pass over a 16 kHz signal, fed a frame at a time. */
class LowPass16k {
  /** The last HISTORY samples, then room for the current frame; reused every frame. */
  private buffer = new Float64Array(HISTORY);

  /** Loads a frame after the history; returns the buffer to read outputs from. */
  load(frameLength: number, fill: (buffer: Float64Array, offset: number) => void): Float64Array {
    if (this.buffer.length < HISTORY + frameLength) {
      const grown = new Float64Array(HISTORY + frameLength);
      grown.set(this.buffer.subarray(0, HISTORY));
      this.buffer = grown;
    }
    fill(this.buffer, HISTORY);
    return this.buffer;
  }

  /** The filter's output at input sample `index` of the loaded frame. */
  outputAt(index: number, gain = 1): number {
    const end = index + HISTORY;
    let sum = 0;
    for (let k = 0; k < TAPS; k++) sum += COEFFICIENTS[k]! * this.buffer[end - k]!;
    return Math.max(-32768, Math.min(32767, Math.round(sum * gain)));
  }

  /** Keeps the frame's tail as history for the next one. */
  shift(frameLength: number): void {
    this.buffer.copyWithin(0, frameLength, frameLength + HISTORY);
  }
}

export class Downsampler {
  private readonly filter = new LowPass16k();

  /** An even number of 16 kHz samples → half as many at 8 kHz. */
  process(input: Int16Array, out: Int16Array = new Int16Array(input.length >> 1)): Int16Array {
    this.filter.load(input.length, (buffer, offset) => buffer.set(input, offset));
    // Output o lines up with input sample 2o + 1, the newest sample under the filter.
    for (let o = 0; o < out.length; o++) out[o] = this.filter.outputAt(2 * o + 1);
    this.filter.shift(input.length);
    return out;
  }
}

export class Upsampler {
  private readonly filter = new LowPass16k();

  /** 8 kHz samples → twice as many at 16 kHz. */
  process(input: Int16Array, out: Int16Array = new Int16Array(input.length * 2)): Int16Array {
    const length = input.length * 2;
    this.filter.load(length, (buffer, offset) => {
      for (let i = 0; i < input.length; i++) {
        buffer[offset + 2 * i] = input[i]!;
        buffer[offset + 2 * i + 1] = 0;
      }
    });
    // Every other sample is a zero, so the filter needs twice the gain to keep the level.
    for (let o = 0; o < length; o++) out[o] = this.filter.outputAt(o, 2);
    this.filter.shift(length);
    return out;
  }
}
