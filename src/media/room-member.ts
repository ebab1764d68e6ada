/**
 * One participant's media inside a room: the transports it opened and the producers and
 * consumers on them. Closing the member closes its transports; mediasoup cascades to
 * their producers and consumers, and to other members' consumers of those producers.
 */
import { errors, type types } from 'mediasoup';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MemberEndReason, MemberKind, MemberView, RoomNotice } from './room-notices.js';

/** How a room reaches a participant: the WebSocket of a browser, the call of a phone. */
export interface MemberChannel {
  notify(notice: RoomNotice): void;
  /**
   * The room is done with this participant (it closes, the participant's media failed, an
   * operator removed it): `text` says why in words, `reason` in terms the channel maps to
   * its own (a WebSocket close code, a phone call's BYE Reason cause).
   */
  disconnect(text: string, reason: MemberEndReason): void;
}

export interface MemberIdentity {
  readonly id: string;
  readonly displayName: string;
  readonly kind: MemberKind;
}

/** What a member needs from its room, without a reference back to the whole room. */
export interface MemberRoomHooks {
  producerOpened(member: RoomMember, producer: types.Producer): void;
  /** Resolves once the consumed producer's packets flow (a phone's are relayed on demand). */
  consumerOpened(consumer: types.Consumer): Promise<void>;
  stateChanged(member: RoomMember): void;
}

export class RoomMember {
  readonly id: string;
  readonly displayName: string;
  readonly kind: MemberKind;
  readonly joinedAt = Date.now();
  muted = false;
  speaking = false;
  /** What this participant can receive; set at join, needed to consume. */
  rtpCapabilities: types.RtpCapabilities | undefined;

  private readonly transports = new Map<string, types.Transport>();
  private readonly producers = new Map<string, types.Producer>();
  private readonly consumers = new Map<string, types.Consumer>();
  private closed = false;

  constructor(
    identity: MemberIdentity,
    readonly channel: MemberChannel,
    private readonly router: types.Router,
    private readonly hooks: MemberRoomHooks,
    private readonly log: Logger,
  ) {
    this.id = identity.id;
    this.displayName = identity.displayName;
    this.kind = identity.kind;
  }

  view(): MemberView {
    return { id: this.id, displayName: this.displayName, kind: this.kind, muted: this.muted, speaking: this.speaking };
  }

  get producerIds(): string[] {
    return [...this.producers.keys()];
  }

  /** Counts of what the member holds, for tests and diagnostics. */
  get mediaCounts(): { transports: number; producers: number; consumers: number } {
    return { transports: this.transports.size, producers: this.producers.size, consumers: this.consumers.size };
  }

  async createWebRtcTransport(listen: { ip: string; announcedIp: string }): Promise<types.WebRtcTransport> {
    this.assertOpen();
    const transport = await this.router.createWebRtcTransport({
      listenInfos: [
        { protocol: 'udp', ip: listen.ip, announcedAddress: listen.announcedIp },
        { protocol: 'tcp', ip: listen.ip, announcedAddress: listen.announcedIp },
      ],
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
    });
    this.adopt(transport);
    return transport;
  }

  /** Takes ownership of a transport made elsewhere (a PlainTransport standing in for a browser's, in tests): it closes with the member. */
  adopt(transport: types.Transport): void {
    if (this.closed) {
      transport.close();
      this.assertOpen();
    }
    this.transports.set(transport.id, transport);
    transport.observer.once('close', () => this.transports.delete(transport.id));
  }

  async connectTransport(transportId: string, dtlsParameters: types.DtlsParameters): Promise<void> {
    const transport = this.transport(transportId);
    await judgedByMediasoup('dtlsParameters', () => transport.connect({ dtlsParameters }));
  }

  async produce(transportId: string, rtpParameters: types.RtpParameters): Promise<types.Producer> {
    const transport = this.transport(transportId);
    const producer = await judgedByMediasoup('rtpParameters', () => transport.produce({ kind: 'audio', rtpParameters, paused: this.muted }));
    this.closeIfLeftMeanwhile(transport, producer);
    return this.produced(producer);
  }

  /**
   * A producer on a transport the member does not own: a phone's, on the one transport its
   * meeting shares with its media thread (one per meeting, not one per call). It closes
   * with the member; the transport stays.
   */
  async produceOnShared(transport: types.Transport, rtpParameters: types.RtpParameters): Promise<types.Producer> {
    this.assertOpen();
    const producer = await transport.produce({ kind: 'audio', rtpParameters, paused: this.muted });
    this.closeIfLeftMeanwhile(transport, producer);
    return this.produced(producer);
  }

  /** A paused consumer of another member's producer; the client resumes it when ready. */
  async consume(transportId: string, producerId: string): Promise<types.Consumer> {
    const transport = this.transport(transportId);
    const { rtpCapabilities } = this;
    if (!rtpCapabilities || !this.router.canConsume({ producerId, rtpCapabilities })) {
      throw new GatewayError('not_acceptable', `cannot consume producer "${producerId}" with the capabilities given at join`);
    }
    const consumer = await judgedByMediasoup('rtpCapabilities', () => transport.consume({ producerId, rtpCapabilities, paused: true }));
    this.closeIfLeftMeanwhile(transport, consumer);
    this.consumers.set(consumer.id, consumer);
    consumer.observer.once('close', () => this.consumers.delete(consumer.id));
    consumer.once('producerclose', () => {
      if (!this.closed) this.channel.notify({ kind: 'consumer-closed', consumerId: consumer.id });
    });
    await this.hooks.consumerOpened(consumer);
    return consumer;
  }

  async resume(consumerId: string): Promise<void> {
    const consumer = this.consumers.get(consumerId);
    if (!consumer) throw new GatewayError('not_found', `no consumer "${consumerId}"`);
    await consumer.resume();
  }

  async setMuted(muted: boolean): Promise<void> {
    if (this.muted === muted) return;
    this.muted = muted;
    await Promise.all([...this.producers.values()].map((p) => (muted ? p.pause() : p.resume())));
    this.hooks.stateChanged(this);
  }

  /** Closes every producer of this member and every transport it owns (and so its consumers). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const producer of [...this.producers.values()]) producer.close();
    for (const transport of [...this.transports.values()]) transport.close();
    this.log.debug({ participantId: this.id }, 'participant media closed');
  }

  private produced(producer: types.Producer): types.Producer {
    this.producers.set(producer.id, producer);
    producer.observer.once('close', () => this.producers.delete(producer.id));
    this.hooks.producerOpened(this, producer);
    return producer;
  }

  private transport(transportId: string): types.Transport {
    this.assertOpen();
    const transport = this.transports.get(transportId);
    if (!transport) throw new GatewayError('not_found', `no transport "${transportId}"`);
    return transport;
  }

  /**
   * A producer or consumer made while the member left or its transport closed: mediasoup's
   * Node side hands it back open (whether the worker closed it with its transport or, on a
   * meeting's shared transport, kept it), so it is closed here, or it is never released.
   */
  private closeIfLeftMeanwhile(transport: types.Transport, made: types.Producer | types.Consumer): void {
    if (!this.closed && !transport.closed) return;
    made.close();
    this.assertOpen();
    throw new GatewayError('gone', 'the transport closed while mediasoup was making its stream');
  }

  private assertOpen(): void {
    if (this.closed) throw new GatewayError('gone', 'participant has left');
  }
}

/**
 * Runs a mediasoup call on parameters the participant sent. mediasoup validates them in
 * depth and rejects what is wrong with a TypeError or UnsupportedError: here, and only
 * here, those mean a bad request, not a bug of ours.
 */
async function judgedByMediasoup<T>(parameters: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof TypeError || err instanceof errors.UnsupportedError) {
      throw new GatewayError('bad_request', `invalid ${parameters}: ${err.message}`);
    }
    throw err;
  }
}
