/**
 * The mix of one tick: every talker's frame summed once into an Int32 accumulator, then
 * for each listener the total minus its own frame (so nobody hears themselves), brought
 * back into 16 bits by a soft clipper instead of a hard one.
 */

/** Up to here the mix passes unchanged; above, it bends smoothly towards full scale. */
const KNEE = 24_576;
const HEADROOM = 32_767 - KNEE;

/** Soft clipping: linear to the knee, then a rational curve that approaches but never passes ±32767. */
export function softClip(sample: number): number {
  const magnitude = Math.abs(sample);
  if (magnitude <= KNEE) return sample;
  const over = magnitude - KNEE;
  const bent = KNEE + (over * HEADROOM) / (over + HEADROOM);
  return sample < 0 ? -Math.round(bent) : Math.round(bent);
}

export class MixMinus {
  private readonly total: Int32Array;
  private frames: ReadonlyMap<string, Int16Array> = new Map();

  constructor(readonly frameSamples: number) {
    this.total = new Int32Array(frameSamples);
  }

  /** Sums this tick's talker frames (each frameSamples long), keyed by input. */
  mix(frames: ReadonlyMap<string, Int16Array>): void {
    this.frames = frames;
    this.total.fill(0);
    for (const frame of frames.values()) {
      for (let i = 0; i < this.frameSamples; i++) this.total[i]! += frame[i]!;
    }
  }

  /** What a listener whose own input is `ownInputId` hears this tick, written into `out`. */
  outputFor(ownInputId: string | undefined, out: Int16Array = new Int16Array(this.frameSamples)): Int16Array {
    const own = ownInputId === undefined ? undefined : this.frames.get(ownInputId);
    for (let i = 0; i < this.frameSamples; i++) out[i] = softClip(this.total[i]! - (own ? own[i]! : 0));
    return out;
  }
}
