/**
 * The page's mediasoup side: one Device, a send transport for the microphone and a recv
 * transport that consumes every other participant's producer. Remote audio is handed
 * out per participant as a MediaStream; playing it is the caller's job.
 */
import { Device, type types as client } from 'mediasoup-client';
import type { ProducerView } from '../signaling/protocol.js';
import type { SignalingClient } from './signaling-client.js';
import { clientRtpCapabilities, clientRtpParameters, clientTransportOptions, serverRtpCapabilities, serverRtpParameters } from './wire-types.js';

export interface MediaSessionEvents {
  remoteAudioAdded(participantId: string, stream: MediaStream): void;
  remoteAudioRemoved(participantId: string): void;
  /** ICE/DTLS failed: audio in that direction stopped for good. */
  connectionFailed(direction: 'send' | 'recv'): void;
}

interface RemoteAudio {
  readonly consumer: client.Consumer;
  readonly participantId: string;
}

export class MediaSession {
  private readonly remote = new Map<string, RemoteAudio>(); // by consumerId
  private readonly streams = new Map<string, MediaStream>(); // by participantId
  private readonly requestedProducers = new Set<string>();
  private readonly transports: client.Transport[] = [];
  private microphone: client.Producer | undefined;
  private readonly receiving: Promise<client.Transport>;
  private startReceiving!: (transport: Promise<client.Transport>) => void;
  private closed = false;

  /** Loads the Device with the router's capabilities; no transport exists yet. */
  static async create(signaling: SignalingClient, events: MediaSessionEvents): Promise<MediaSession> {
    const { rtpCapabilities } = await signaling.request('getRouterRtpCapabilities', {});
    const device = new Device();
    await device.load({ routerRtpCapabilities: clientRtpCapabilities(rtpCapabilities) });
    return new MediaSession(signaling, device, events);
  }

  private constructor(
    private readonly signaling: SignalingClient,
    private readonly device: Device,
    private readonly events: MediaSessionEvents,
  ) {
    // Producers can be announced before the recv transport exists; consume() waits for it.
    this.receiving = new Promise((resolve) => (this.startReceiving = resolve));
    // receive() reports its own failure; consume() calls waiting on it fail with it too.
    this.receiving.catch(() => undefined);
  }

  /** What this browser can receive, in the form the join request takes. */
  get rtpCapabilities(): ReturnType<typeof serverRtpCapabilities> {
    return serverRtpCapabilities(this.device.rtpCapabilities);
  }

  /** Each remote participant's audio, by participant id. */
  get remoteStreams(): ReadonlyMap<string, MediaStream> {
    return this.streams;
  }

  /** Call after join: creates the recv transport that every consume() uses. */
  async receive(): Promise<void> {
    const transport = this.openTransport('recv');
    this.startReceiving(transport);
    await transport;
  }

  /** Call after join: sends the microphone track (which stays the caller's to stop). */
  async send(track: MediaStreamTrack): Promise<void> {
    const transport = await this.openTransport('send');
    transport.on('produce', ({ kind, rtpParameters }, answer, fail) => {
      if (kind !== 'audio') return fail(new Error(`this page only sends audio, not ${kind}`));
      this.signaling
        .request('produce', { transportId: transport.id, kind, rtpParameters: serverRtpParameters(rtpParameters) })
        .then(({ producerId }) => answer({ id: producerId }), fail);
    });
    // The caller opened the track, so the caller stops it (also when produce fails).
    this.microphone = await transport.produce({ track, stopTracks: false });
  }

  /** Stops or restarts sending the microphone (the server is told separately, by `mute`). */
  setMicrophoneMuted(muted: boolean): void {
    if (muted) this.microphone?.pause();
    else this.microphone?.resume();
  }

  get sending(): boolean {
    return this.microphone !== undefined;
  }

  /** Starts receiving one producer; a producer already consumed is ignored. */
  async consume(producer: ProducerView): Promise<void> {
    if (this.requestedProducers.has(producer.producerId)) return;
    this.requestedProducers.add(producer.producerId);
    const transport = await this.receiving;
    const answer = await this.signaling.request('consume', { transportId: transport.id, producerId: producer.producerId });
    if (this.closed) return;
    const consumer = await transport.consume({
      id: answer.consumerId,
      producerId: answer.producerId,
      kind: answer.kind,
      rtpParameters: clientRtpParameters(answer.rtpParameters),
    });
    this.remote.set(consumer.id, { consumer, participantId: answer.participantId });
    const stream = new MediaStream([consumer.track]);
    this.streams.set(answer.participantId, stream);
    this.events.remoteAudioAdded(answer.participantId, stream);
    // Server-side consumers start paused so no RTP is lost before the track is wired up.
    await this.signaling.request('resume', { consumerId: consumer.id });
  }

  /** The server closed a consumer (its producer went away). */
  closeConsumer(consumerId: string): void {
    const remote = this.remote.get(consumerId);
    if (!remote) return;
    remote.consumer.close();
    this.remote.delete(consumerId);
    this.requestedProducers.delete(remote.consumer.producerId);
    this.streams.delete(remote.participantId);
    this.events.remoteAudioRemoved(remote.participantId);
  }

  closeParticipant(participantId: string): void {
    for (const [consumerId, remote] of this.remote) {
      if (remote.participantId === participantId) this.closeConsumer(consumerId);
    }
  }

  /** Closes the transports, which closes the producer and the consumers. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const transport of this.transports) transport.close();
    for (const participantId of this.streams.keys()) this.events.remoteAudioRemoved(participantId);
    this.streams.clear();
    this.remote.clear();
  }

  private async openTransport(direction: 'send' | 'recv'): Promise<client.Transport> {
    const options = clientTransportOptions(await this.signaling.request('createTransport', { direction }));
    const transport = direction === 'send' ? this.device.createSendTransport(options) : this.device.createRecvTransport(options);
    this.transports.push(transport);
    transport.on('connect', ({ dtlsParameters }, done, fail) => {
      this.signaling.request('connectTransport', { transportId: transport.id, dtlsParameters }).then(() => done(), fail);
    });
    transport.on('connectionstatechange', (state) => {
      if (state === 'failed' && !this.closed) this.events.connectionFailed(direction);
    });
    return transport;
  }
}
