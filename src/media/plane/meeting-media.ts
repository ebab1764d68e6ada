/**
 * A meeting's phone media, seen from the main thread: the media thread it lives on, and
 * the one PlainTransport between mediasoup and that thread. mediasoup sends the thread
 * every browser's audio through it (one consumer per producer, told apart there by SSRC),
 * and every phone's producer is on it, fed by the thread while a browser listens: a call
 * costs no transport of its own. Phones' ports are opened through it; when its thread
 * dies it says so to each of them.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from '../../logger.js';
import { AUDIO_LEVEL_URI } from '../audio-level.js';
import { audioCodecName } from '../codecs/frame-codecs.js';
import type { ConfirmationTone } from '../mixer/confirmation-tones.js';
import type { RtpPacketView } from '../rtp-packet.js';
import type { MediaPlane } from './media-plane.js';
import type { MediaThread } from './media-thread.js';
import type { SrtpKeys } from '../srtp/srtp-suites.js';
import type { CallQuality, PhoneCodec, PhoneRemote, PlaneRequests } from './plane-protocol.js';

export interface MeetingMediaOptions {
  readonly meetingId: string;
  readonly router: types.Router;
  /** How many of the loudest talkers are mixed. */
  readonly talkers: number;
  readonly plane: MediaPlane;
  readonly log: Logger;
}

interface MeetingMediaEvents {
  /** Its media thread died: every phone with media on it has lost it. */
  lost: [reason: string];
}

export class MeetingMedia extends EventEmitter<MeetingMediaEvents> {
  private readonly consumers = new Map<string, types.Consumer>();
  private closed = false;

  private constructor(
    private readonly meetingId: string,
    private readonly router: types.Router,
    readonly thread: MediaThread,
    /** Where the meeting's phones produce (the member closes its producer; the meeting its transport). */
    readonly transport: types.PlainTransport,
    private readonly log: Logger,
  ) {
    super();
    // Every phone in the meeting listens for `lost`: a big meeting has hundreds.
    this.setMaxListeners(0);
    const lost = (reason: string) => {
      this.log.error({ mediaThread: thread.index, reason }, 'the meeting\'s media thread died');
      this.close();
      this.emit('lost', reason);
    };
    thread.once('lost', lost);
    transport.observer.once('close', () => thread.off('lost', lost));
  }

  static async open({ meetingId, router, talkers, plane, log }: MeetingMediaOptions): Promise<MeetingMedia> {
    const thread = plane.place();
    thread.meetings++;
    let transport: types.PlainTransport | undefined;
    try {
      transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
      const { mixPort } = await thread.request('open-meeting', { meetingId, talkers, mediasoup: { ip: '127.0.0.1', port: transport.tuple.localPort } });
      await transport.connect({ ip: '127.0.0.1', port: mixPort });
      log.info({ mediaThread: thread.index }, 'meeting placed on a media thread');
      return new MeetingMedia(meetingId, router, thread, transport, log);
    } catch (err) {
      transport?.close();
      thread.meetings--;
      thread.request('close-meeting', { meetingId }).catch(() => undefined);
      throw err;
    }
  }

  /** Mixes a (browser's) producer from now on; a codec the mixer cannot decode is left out. */
  async addTalker(producer: types.Producer, ownerId: string): Promise<void> {
    if (this.closed || this.consumers.has(producer.id)) return;
    const consumer = await this.transport.consume({ producerId: producer.id, rtpCapabilities: this.router.rtpCapabilities });
    const { codecs, headerExtensions = [], encodings = [] } = consumer.rtpParameters;
    const codec = audioCodecName(codecs[0]!.mimeType);
    const ssrc = encodings[0]?.ssrc;
    if (this.closed || !codec || ssrc === undefined || this.consumers.has(producer.id)) return consumer.close();
    this.consumers.set(producer.id, consumer);
    consumer.observer.once('close', () => {
      this.consumers.delete(producer.id);
      this.request('remove-talker', { meetingId: this.meetingId, talkerId: producer.id });
    });
    consumer.once('producerclose', () => consumer.close());
    await this.thread.request('add-talker', {
      meetingId: this.meetingId,
      talker: {
        id: producer.id,
        ownerId,
        codec,
        clockRate: codecs[0]!.clockRate,
        // The consumer maps every extension the router knows; only a producer that has it sends it.
        levelExtensionId: producer.rtpParameters.headerExtensions?.some(({ uri }) => uri === AUDIO_LEVEL_URI)
          ? headerExtensions.find(({ uri }) => uri === AUDIO_LEVEL_URI)?.id
          : undefined,
        ssrc,
      },
    });
  }

  /** A phone's RTP port on the meeting's thread. */
  async openPort(options: { listenIp: string; minPort: number; maxPort: number; producerSsrc: number; latch: boolean }): Promise<ThreadPhonePort> {
    const portId = randomUUID();
    const lastReceived = new SharedArrayBuffer(2 * Float64Array.BYTES_PER_ELEMENT);
    this.thread.ports++;
    try {
      const opened = await this.thread.request('open-port', { ...options, meetingId: this.meetingId, portId, lastReceived });
      return new ThreadPhonePort(this, portId, opened.port, new Float64Array(lastReceived));
    } catch (err) {
      this.thread.ports--;
      throw err;
    }
  }

  counts(): Promise<{ talkers: number; legs: number } | undefined> {
    return this.thread.request('counts', { meetingId: this.meetingId });
  }

  /** A request about this meeting whose failure (a thread already gone) changes nothing. */
  request<T extends 'remove-talker' | 'close-port' | 'close-meeting'>(type: T, body: PlaneRequests[T]['request']): void {
    this.thread.request(type, body).catch(() => undefined);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.thread.meetings--;
    this.transport.close();
    this.request('close-meeting', { meetingId: this.meetingId });
  }
}

/** A phone's RTP port on its meeting's media thread. */
export class ThreadPhonePort {
  private closed = false;

  constructor(
    readonly meeting: MeetingMedia,
    private readonly id: string,
    /** The port phones send to (announced in SDP). */
    readonly port: number,
    private readonly lastReceived: Float64Array,
  ) {}

  /** When the phone last sent RTP or RTCP (epoch ms); undefined before its first packet. */
  lastReceivedAt(): number | undefined {
    return this.lastReceived[0] || undefined;
  }

  /** When the phone's first RTP packet arrived (epoch ms); undefined before it. */
  firstRtpAt(): number | undefined {
    return this.lastReceived[1] || undefined;
  }

  /** Whether the phone's audio goes on to mediasoup; resolves once the thread relays (or stops). */
  relay(relaying: boolean): Promise<void> {
    return this.meeting.thread.request('relay', { portId: this.id, relaying });
  }

  /** Told each time the phone starts or stops speaking. */
  onSpeaking(listener: (speaking: boolean) => void): void {
    this.meeting.thread.speakingListeners.set(this.id, listener);
  }

  start(codec: PhoneCodec, remote: PhoneRemote): Promise<void> {
    return this.meeting.thread.request('start-port', { portId: this.id, codec, remote });
  }

  setRemote(remote: PhoneRemote): Promise<void> {
    return this.meeting.thread.request('set-remote', { portId: this.id, ...remote });
  }

  /** The call's SRTP keys, undefined for plain RTP (see 'secure-port'). */
  secure(srtp: SrtpKeys | undefined): Promise<void> {
    return this.meeting.thread.request('secure-port', { portId: this.id, srtp });
  }

  /** Whether the meeting hears the phone, apart from hold (see 'set-muted'). */
  setMuted(muted: boolean): Promise<void> {
    return this.meeting.thread.request('set-muted', { portId: this.id, muted });
  }

  playTone(tone: ConfirmationTone): Promise<void> {
    return this.meeting.thread.request('play-tone', { portId: this.id, tone });
  }

  /** The call's RTCP statistics; undefined before start(). */
  quality(): Promise<CallQuality | undefined> {
    return this.meeting.thread.request('port-stats', { portId: this.id });
  }

  async tap(payloadType: number, listener: (packet: RtpPacketView) => void): Promise<void> {
    this.meeting.thread.telephoneEvents.set(this.id, ({ payload, ...header }) =>
      listener({ ...header, payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength) }),
    );
    await this.meeting.thread.request('tap', { portId: this.id, payloadType });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.meeting.thread.ports--;
    this.meeting.thread.telephoneEvents.delete(this.id);
    this.meeting.thread.speakingListeners.delete(this.id);
    this.meeting.request('close-port', { portId: this.id });
  }
}
