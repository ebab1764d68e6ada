/**
 * 16 kHz → 8 kHz for the mixer, when a meeting has both G.722 legs (16 kHz) and G.711
 * legs (8 kHz): each talker is decoded once at 16 kHz and brought down here rather than
 * decoded twice. A windowed-sinc low-pass (cut at 3.7 kHz, so nothing above the new
 * 4 kHz Nyquist folds back into the voice band) then every second sample. It keeps its
 * history across frames, so 20 ms at a time gives the same as all at once.
 */

const TAPS = 47;
const CUTOFF_HZ = 3700;
const INPUT_RATE = 16_000;

/** Blackman-windowed sinc, normalized to unity gain at DC. */
function lowPass(): Float64Array {
  const taps = new Float64Array(TAPS);
  const middle = (TAPS - 1) / 2;
  const fc = CUTOFF_HZ / INPUT_RATE;
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

export class Downsampler {
  /** The last TAPS − 1 input samples, then room for the current frame; reused every frame. */
  private buffer = new Float64Array(TAPS - 1);

  /** An even number of 16 kHz samples → half as many at 8 kHz. */
  process(input: Int16Array, out: Int16Array = new Int16Array(input.length >> 1)): Int16Array {
    const history = TAPS - 1;
    if (this.buffer.length < history + input.length) {
      const grown = new Float64Array(history + input.length);
      grown.set(this.buffer.subarray(0, history));
      this.buffer = grown;
    }
    const buffer = this.buffer;
    buffer.set(input, history);
    for (let o = 0; o < out.length; o++) {
      // Output o lines up with input sample 2o + 1, the newest sample under the filter.
      const end = 2 * o + 1 + history;
      let sum = 0;
      for (let k = 0; k < TAPS; k++) sum += COEFFICIENTS[k]! * buffer[end - k]!;
      out[o] = Math.max(-32768, Math.min(32767, Math.round(sum)));
    }
    buffer.copyWithin(0, input.length, input.length + history);
    return out;
  }
}
