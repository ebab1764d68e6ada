/**
 * The mix-minus of one meeting, for its phone legs. Every producer in the room (browsers
 * and phones) is consumed on one DirectTransport; each 20 ms tick the N loudest talkers
 * are decoded, summed once per rate the legs need, and every leg gets the sum minus its
 * own voice in its codec. Legs that hear the same thing in a stateless codec (G.711)
 * share one encoding. The room owns the mixer while it has phone legs.
 */
import { randomInt } from 'node:crypto';
import type { types } from 'mediasoup';
import type { Logger } from '../../logger.js';
import { AUDIO_LEVEL_URI } from '../audio-level.js';
import { type MixRate, audioCodecName } from '../codecs/frame-codecs.js';
import type { MixerClock } from './mixer-clock.js';
import { FRAMES_PER_SECOND, MixerInput } from './mixer-input.js';
import { type LegSpec, MixerLeg } from './mixer-leg.js';
import { MixMinus } from './mix-minus.js';

export interface MixerOptions {
  /** How many of the loudest talkers are decoded and mixed (MIXER_TALKERS). */
  readonly talkers: number;
  readonly clock: MixerClock;
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
  private failures = 0;
  private closed = false;

  private constructor(
    private readonly router: types.Router,
    private readonly transport: types.DirectTransport,
    private readonly options: MixerOptions,
    private readonly log: Logger,
  ) {
    transport.observer.once('close', () => this.close());
  }

  static async create(router: types.Router, options: MixerOptions, log: Logger): Promise<MeetingMixer> {
    const transport = await router.createDirectTransport();
    return new MeetingMixer(router, transport, options, log);
  }

  get legCount(): number {
    return this.legs.size;
  }

  get talkerCount(): number {
    return this.inputs.size;
  }

  /** Hears a producer from now on; a codec the mixer cannot decode is left out. */
  async addTalker(producer: types.Producer, ownerId: string): Promise<void> {
    if (this.closed || this.inputs.has(producer.id)) return;
    const consumer = await this.transport.consume({ producerId: producer.id, rtpCapabilities: this.router.rtpCapabilities });
    const { codecs, headerExtensions = [] } = consumer.rtpParameters;
    const codec = audioCodecName(codecs[0]!.mimeType);
    if (this.closed || !codec || this.inputs.has(producer.id)) return consumer.close();
    const input = new MixerInput(
      {
        id: producer.id,
        ownerId,
        codec,
        clockRate: codecs[0]!.clockRate,
        // The consumer maps every extension the router knows; only a producer that has it sends it.
        levelExtensionId: producer.rtpParameters.headerExtensions?.some(({ uri }) => uri === AUDIO_LEVEL_URI)
          ? headerExtensions.find(({ uri }) => uri === AUDIO_LEVEL_URI)?.id
          : undefined,
      },
      this.rates,
    );
    this.inputs.set(producer.id, input);
    consumer.on('rtp', (packet: Buffer) => input.receive(packet, performance.now()));
    consumer.observer.once('close', () => this.inputs.delete(producer.id));
    consumer.once('producerclose', () => consumer.close());
  }

  /** A phone leg: a producer carrying its mix, for the phone's PlainTransport to consume. */
  async addLeg(spec: LegSpec, onClose: () => void): Promise<MixerLeg> {
    const ssrc = randomInt(1, 2 ** 32 - 1);
    const producer = await this.transport.produce({
      kind: 'audio',
      rtpParameters: {
        codecs: [
          {
            mimeType: `audio/${spec.codec}`,
            clockRate: spec.clockRate,
            payloadType: spec.payloadType,
            ...(spec.channels > 1 && { channels: spec.channels }),
          },
        ],
        encodings: [{ ssrc }],
      },
    });
    const leg = new MixerLeg(spec, producer, ssrc, {
      closed: (closed) => {
        this.legs.delete(closed);
        this.followLegRates();
        onClose();
      },
      listeningChanged: () => this.followLegRates(),
    });
    this.legs.add(leg);
    this.followLegRates();
    this.options.clock.join(this);
    return leg;
  }

  tick(): void {
    try {
      this.mixTick();
    } catch (err) {
      // One bad tick must not stop the clock the other meetings share; say so once in a while.
      if (this.failures++ % 500 === 0) this.log.error({ reason: (err as Error).message, failures: this.failures }, 'mixer tick failed');
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.options.clock.leave(this);
    for (const leg of [...this.legs]) leg.close();
    this.transport.close();
  }

  private mixTick(): void {
    for (const input of this.inputs.values()) input.advance();
    const selected = this.loudest();
    for (const frames of this.talkerFrames.values()) frames.clear();
    this.mixedInputOf.clear();
    for (const input of this.inputs.values()) {
      const mixed = selected.has(input);
      if (!mixed && !input.measuresOwnLevel) {
        input.pass();
        continue;
      }
      if (!input.render() || !mixed) continue;
      for (const [rate, frames] of this.talkerFrames) frames.set(input.id, input.frame(rate));
      this.mixedInputOf.set(input.source.ownerId, input.id);
    }
    for (const [rate, mix] of this.mixes) mix.mix(this.talkerFrames.get(rate)!);

    const shared = new Map<string, Uint8Array>();
    for (const leg of this.legs) {
      if (!leg.listening) {
        leg.skip();
        continue;
      }
      const rate = leg.sampleRate;
      const ownInput = this.mixedInputOf.get(leg.spec.memberId);
      const key = `${leg.spec.codec}:${ownInput ?? ''}`;
      let payload = leg.sharesEncoding ? shared.get(key) : undefined;
      if (!payload) {
        payload = leg.encode(this.mixes.get(rate)!.outputFor(ownInput, this.scratch.get(rate)));
        if (leg.sharesEncoding) shared.set(key, payload);
      }
      leg.send(payload);
    }
  }

  /** The N loudest talkers that make any sound; ties keep the earlier talker. */
  private loudest(): Set<MixerInput> {
    const audible = [...this.inputs.values()].filter((input) => input.loudness > 0);
    audible.sort((a, b) => b.loudness - a.loudness);
    return new Set(audible.slice(0, this.options.talkers));
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
