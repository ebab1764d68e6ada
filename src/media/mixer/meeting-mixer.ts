/**
 * The mix-minus of one meeting, for its phone legs, inside the media thread the meeting
 * lives on. Its talkers are fed packets by whoever receives them (a phone's own socket,
 * or the socket mediasoup sends browsers' audio to); each 20 ms tick the N loudest talkers
 * are decoded, summed once per rate the legs need, and every leg gets the sum minus its
 * own voice in its codec. Legs that hear the same thing in a stateless codec (G.711)
 * share one encoding. The meeting owns the mixer while it has phone legs.
 */
import type { AudioCodecName, MixRate } from '../codecs/frame-codecs.js';
import type { MixerClock } from './mixer-clock.js';
import { FRAMES_PER_SECOND, MixerInput, type TalkerSource } from './mixer-input.js';
import { type LegSpec, MixerLeg } from './mixer-leg.js';
import { MixMinus, softClip } from './mix-minus.js';

export interface MixerOptions {
  /** How many of the loudest talkers are decoded and mixed (MIXER_TALKERS). */
  readonly talkers: number;
  readonly clock: MixerClock;
  /** Told (now and then, not every tick) that ticks fail. */
  readonly tickFailed: (reason: string, failures: number) => void;
}

export class MeetingMixer {
  private readonly inputs = new Map<string, MixerInput>();
  private readonly legs = new Set<MixerLeg>();
  private rates: ReadonlySet<MixRate> = new Set();
  private readonly mixes = new Map<MixRate, MixMinus>();
  private readonly talkerFrames = new Map<MixRate, Map<string, Int16Array>>();
  private readonly scratch = new Map<MixRate, Int16Array>();
  /** This tick's mixed input of each member that has one in the mix, so its leg can leave it out. */
  private readonly mixedInputOf = new Map<string, string>();
  /** This tick's loudest talkers, loudest first (kept across ticks: a tick allocates nothing it can reuse). */
  private readonly selected: MixerInput[] = [];
  /** This tick's encodings that legs share, by codec and by the input left out of them. */
  private readonly sharedEncodings = new Map<AudioCodecName, Map<string | undefined, Uint8Array>>();
  private failures = 0;
  private closed = false;

  constructor(private readonly options: MixerOptions) {}

  get legCount(): number {
    return this.legs.size;
  }

  get talkerCount(): number {
    return this.inputs.size;
  }

  /** Hears a talker from now on: the returned input takes its RTP packets. */
  addTalker(source: TalkerSource): MixerInput {
    const input = new MixerInput(source, this.rates);
    this.inputs.set(source.id, input);
    return input;
  }

  removeTalker(id: string): void {
    this.inputs.delete(id);
  }

  /** A phone leg, whose RTP `send` puts on the wire; closing the leg ends it. */
  addLeg(spec: LegSpec, send: (packet: Buffer) => void): MixerLeg {
    const leg = new MixerLeg(spec, send, {
      closed: (closed) => {
        this.legs.delete(closed);
        this.followLegRates();
        if (this.legs.size === 0) this.options.clock.leave(this);
      },
      listeningChanged: () => this.followLegRates(),
    });
    this.legs.add(leg);
    this.followLegRates();
    if (!this.closed) this.options.clock.join(this);
    return leg;
  }

  tick(): void {
    try {
      this.mixTick();
    } catch (err) {
      // One bad tick must not stop the clock the other meetings share; say so once in a while.
      if (this.failures++ % 500 === 0) this.options.tickFailed((err as Error).message, this.failures);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.clock.leave(this);
    for (const leg of [...this.legs]) leg.close();
    this.inputs.clear();
  }

  private mixTick(): void {
    for (const input of this.inputs.values()) input.advance();
    const selected = this.selectLoudest();
    for (const frames of this.talkerFrames.values()) frames.clear();
    this.mixedInputOf.clear();
    for (const input of this.inputs.values()) {
      const mixed = selected.includes(input);
      if (!mixed && !input.measuresOwnLevel) {
        input.pass();
        continue;
      }
      if (!input.render() || !mixed) continue;
      for (const [rate, frames] of this.talkerFrames) frames.set(input.id, input.frame(rate));
      this.mixedInputOf.set(input.source.ownerId, input.id);
    }
    for (const [rate, mix] of this.mixes) mix.mix(this.talkerFrames.get(rate)!);

    for (const encodings of this.sharedEncodings.values()) encodings.clear();
    for (const leg of this.legs) {
      if (!leg.listening) {
        leg.skip();
        continue;
      }
      const rate = leg.sampleRate;
      const ownInput = this.mixedInputOf.get(leg.spec.memberId);
      const tone = leg.takeToneFrame();
      // A leg hearing a tone hears something of its own: its encoding is not shared.
      const shared = leg.sharesEncoding && !tone ? this.sharedEncodingsOf(leg.spec.codec) : undefined;
      let payload = shared?.get(ownInput);
      if (!payload) {
        const heard = this.mixes.get(rate)!.outputFor(ownInput, this.scratch.get(rate));
        if (tone) addTone(heard, tone);
        payload = leg.encode(heard);
        shared?.set(ownInput, payload);
      }
      leg.send(payload);
    }
  }

  /** The N loudest talkers that make any sound, loudest first; ties keep the earlier talker. */
  private selectLoudest(): readonly MixerInput[] {
    const { selected } = this;
    const most = this.options.talkers;
    selected.length = 0;
    for (const input of this.inputs.values()) {
      if (input.loudness <= 0) continue;
      // Insert after every talker at least as loud, dropping the quietest beyond N.
      let at = selected.length;
      while (at > 0 && selected[at - 1]!.loudness < input.loudness) at--;
      if (at >= most) continue;
      if (selected.length === most) selected.pop();
      selected.push(input);
      for (let i = selected.length - 1; i > at; i--) selected[i] = selected[i - 1]!;
      selected[at] = input;
    }
    return selected;
  }

  private sharedEncodingsOf(codec: AudioCodecName): Map<string | undefined, Uint8Array> {
    let encodings = this.sharedEncodings.get(codec);
    if (!encodings) this.sharedEncodings.set(codec, (encodings = new Map()));
    return encodings;
  }

  /** Decode and mix at the rates listening legs need, and no others. */
  private followLegRates(): void {
    const rates = new Set([...this.legs].filter((leg) => leg.listening).map((leg) => leg.sampleRate));
    if (rates.size === this.rates.size && [...rates].every((rate) => this.rates.has(rate))) return;
    this.rates = rates;
    for (const input of this.inputs.values()) input.setRates(rates);
    for (const rate of [...this.mixes.keys()]) {
      if (rates.has(rate)) continue;
      this.mixes.delete(rate);
      this.talkerFrames.delete(rate);
      this.scratch.delete(rate);
    }
    for (const rate of rates) {
      if (this.mixes.has(rate)) continue;
      const frameSamples = rate / FRAMES_PER_SECOND;
      this.mixes.set(rate, new MixMinus(frameSamples));
      this.talkerFrames.set(rate, new Map());
      this.scratch.set(rate, new Int16Array(frameSamples));
    }
  }
}

/** A tone over the mix, clipped as the mix is. */
function addTone(heard: Int16Array, tone: Int16Array): void {
  for (let i = 0; i < heard.length; i++) heard[i] = softClip(heard[i]! + tone[i]!);
}
