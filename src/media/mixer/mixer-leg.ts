/**
 * What one phone leg hears: the mix minus its own voice, encoded in the leg's codec and
 * sent as one continuous RTP stream (one SSRC, running sequence numbers and timestamps
 * across talker changes) straight to the phone, from the socket the phone sends to. A
 * tone played to the leg (a mute confirmation) is added to its mix, frame by frame.
 */
import { randomInt } from 'node:crypto';
import { type AudioCodecName, type FrameEncoder, type MixRate, createEncoder } from '../codecs/frame-codecs.js';
import { writeRtp } from '../rtp-packet.js';
import { type ConfirmationTone, toneFrames } from './confirmation-tones.js';
import { FRAMES_PER_SECOND } from './mixer-input.js';

export interface LegSpec {
  /** The room member (the phone) whose own voice is left out. */
  readonly memberId: string;
  readonly codec: AudioCodecName;
  readonly payloadType: number;
  readonly clockRate: number;
  readonly channels: number;
}

export class MixerLeg {
  private readonly encoder: FrameEncoder;
  private sequenceNumber = randomInt(0, 0x10000);
  private timestamp = randomInt(0, 2 ** 32);
  /** Our stream to the phone, which its RTCP reports come from. */
  readonly ssrc = randomInt(1, 2 ** 32 - 1);
  private marker = true;
  private isListening = true;
  private readonly timestampStep: number;
  /** What is left of the tone being played, one 20 ms frame at the leg's rate each. */
  private tone: Int16Array[] = [];
  private closed = false;

  constructor(
    readonly spec: LegSpec,
    /** Puts one RTP packet on the wire to the phone. */
    private readonly sendPacket: (packet: Buffer) => void,
    private readonly events: { closed(leg: MixerLeg): void; listeningChanged(leg: MixerLeg): void },
  ) {
    this.encoder = createEncoder(spec.codec);
    this.timestampStep = spec.clockRate / FRAMES_PER_SECOND;
  }

  /** Whether the phone takes our media now: not while it holds, or when it only sends. */
  get listening(): boolean {
    return this.isListening;
  }

  set listening(listening: boolean) {
    if (listening === this.isListening) return;
    this.isListening = listening;
    this.events.listeningChanged(this);
  }

  get sampleRate(): MixRate {
    return this.encoder.sampleRate;
  }

  get sharesEncoding(): boolean {
    return this.encoder.stateless;
  }

  encode(samples: Int16Array): Uint8Array {
    return this.encoder.encode(samples);
  }

  /** Plays `tone` over what the leg hears from the next tick on, instead of any tone still playing. */
  play(tone: ConfirmationTone): void {
    this.tone = toneFrames(tone, this.sampleRate);
  }

  /** This tick's frame of the tone being played, taken; undefined when none plays. */
  takeToneFrame(): Int16Array | undefined {
    return this.tone.shift();
  }

  send(payload: Uint8Array): void {
    if (this.closed) return;
    const { sequenceNumber, timestamp, ssrc, marker } = this;
    const { payloadType } = this.spec;
    this.sendPacket(writeRtp({ payloadType, sequenceNumber, timestamp, ssrc, marker }, payload));
    this.marker = false;
    this.sequenceNumber = (sequenceNumber + 1) & 0xffff;
    this.timestamp = (timestamp + this.timestampStep) >>> 0;
  }

  /** A tick the phone does not listen to: nothing is encoded or sent, but time runs on. */
  skip(): void {
    this.tone.shift();
    this.timestamp = (this.timestamp + this.timestampStep) >>> 0;
    this.marker = true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.events.closed(this);
  }
}
