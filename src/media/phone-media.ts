/**
 * The media of one phone call: the phone-facing RTP port on the media thread its meeting
 * lives on (which feeds the caller's audio straight into the meeting's mixer and sends
 * the caller the meeting's mix), a PlainTransport on the meeting's router (on loopback,
 * fed by that port), the producer carrying the caller's audio as-is for browsers (they
 * consume G.711, G.722 and opus without transcoding), and the caller's membership in
 * the room. open() allocates before the codec is known, so a late offer can announce the
 * port; start() follows the SDP exchange. Closing it releases all of that. When the media
 * thread dies, the call is ended through its channel with a Q.850 cause 41 (temporary failure).
 */
import { randomInt } from 'node:crypto';
import type { types } from 'mediasoup';
import { GatewayError } from '../errors.js';
import type { NegotiatedMedia } from './sdp/negotiated-media.js';
import { AUDIO_LEVEL_URI } from './audio-level.js';
import type { ThreadPhonePort } from './plane/meeting-media.js';
import type { CallQuality } from './plane/plane-protocol.js';
import { type CallQualityReport, type QualityContext, assessQuality } from './quality/call-quality.js';
import { MediaThreadLostError } from './plane/media-thread.js';
import type { RtpPacketView } from './rtp-packet.js';
import type { Room } from './room.js';
import type { MemberChannel, MemberIdentity, RoomMember } from './room-member.js';

export interface PhoneMediaOptions {
  readonly room: Room;
  readonly identity: MemberIdentity;
  readonly channel: MemberChannel;
  readonly rtp: { readonly listenIp: string; readonly minPort: number; readonly maxPort: number };
  /** Send where the phone's RTP comes from (RTP_COMEDIA), not only to its SDP address. */
  readonly latch: boolean;
}

/** The id our producers give the RFC 6464 extension (any 1-14 works; mediasoup maps it). */
const AUDIO_LEVEL_EXTENSION_ID = 1;

/** Q.850 cause 41, temporary failure: the call's media is gone, calling again may work. */

export class PhoneMedia {
  private holding = false;
  private producerInUse: types.Producer | undefined;
  /** The codec and packetisation, once started. */
  private session: QualityContext | undefined;
  private closed = false;

  private constructor(
    private readonly room: Room,
    readonly member: RoomMember,
    private readonly rtpPort: ThreadPhonePort,
    readonly transport: types.PlainTransport,
    private readonly producerSsrc: number,
    private readonly release: () => void,
  ) {
    rtpPort.meeting.once('lost', this.mediaLost);
  }

  /** Admits the caller to the room (busy when full) and opens its port and transport. */
  static async open(options: PhoneMediaOptions): Promise<PhoneMedia> {
    const { room } = options;
    const member = room.admit(options.identity, options.channel);
    const producerSsrc = randomInt(1, 2 ** 32 - 1);
    let use: Awaited<ReturnType<Room['phoneMedia']>> | undefined;
    let rtpPort: ThreadPhonePort | undefined;
    try {
      use = await room.phoneMedia();
      rtpPort = await use.media.openPort({ ...options.rtp, producerSsrc, latch: options.latch });
      const transport = await room.router.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
        rtcpMux: true,
        comedia: false,
      });
      member.adopt(transport);
      const loop = rtpPort.loopbackAddress;
      await transport.connect({ ip: loop.ip, port: loop.port });
      await rtpPort.connectToMediasoup({ ip: '127.0.0.1', port: transport.tuple.localPort });
      return new PhoneMedia(room, member, rtpPort, transport, producerSsrc, use.release);
    } catch (err) {
      rtpPort?.close();
      use?.release();
      room.remove(member.id, 'media setup failed');
      if (err instanceof MediaThreadLostError) throw new GatewayError('unavailable', err.message);
      throw err;
    }
  }

  get port(): number {
    return this.rtpPort.port;
  }

  get producer(): types.Producer | undefined {
    return this.producerInUse;
  }

  /** Whether the phone holds the call, or only listens: it may send nothing on purpose. */
  get onHold(): boolean {
    return this.holding;
  }

  /** When the phone last sent RTP or RTCP (epoch ms); undefined before its first packet. */
  lastReceivedAt(): number | undefined {
    return this.rtpPort.lastReceivedAt();
  }

  /** When the phone's first RTP packet arrived (epoch ms); undefined before it. */
  firstRtpAt(): number | undefined {
    return this.rtpPort.firstRtpAt();
  }

  /** The negotiated codec's name, once started. */
  get codec(): string | undefined {
    return this.session?.codec;
  }

  /** Starts the caller's audio in the negotiated codec, and what the caller hears. */
  async start(negotiated: NegotiatedMedia): Promise<void> {
    const { codec } = negotiated;
    this.session = { codec: codec.name, ptimeMs: negotiated.ptime };
    // G.711 and G.722 packets get a measured level; opus callers go without (the mixer measures them).
    const levelExtensionId = codec.name === 'opus' ? undefined : AUDIO_LEVEL_EXTENSION_ID;
    this.producerInUse = await this.member.produce(this.transport.id, {
      codecs: [
        {
          mimeType: `audio/${codec.name}`,
          clockRate: codec.clockRate,
          payloadType: codec.payloadType,
          ...(codec.channels > 1 && { channels: codec.channels }),
          parameters: { ...codec.parameters },
        },
      ],
      headerExtensions: levelExtensionId === undefined ? [] : [{ uri: AUDIO_LEVEL_URI, id: levelExtensionId }],
      encodings: [{ ssrc: this.producerSsrc }],
    });
    const { name, payloadType, clockRate, channels } = codec;
    await this.rtpPort.start({ memberId: this.member.id, codec: name, payloadType, clockRate, channels, levelExtensionId });
    await this.update(negotiated);
  }

  /**
   * Follows an SDP exchange: where the phone receives and which way media flows. A phone
   * that does not send both ways (hold, or its own mute) shows as muted, and what it
   * plays while holding (music) does not reach the meeting.
   */
  async update({ remote, remoteDirection }: Pick<NegotiatedMedia, 'remote' | 'remoteDirection'>): Promise<void> {
    const nowhere = remote.ip === '0.0.0.0' || remote.ip === '::' || remote.port === 0;
    const receives = remoteDirection === 'sendrecv' || remoteDirection === 'recvonly';
    const talking = remoteDirection === 'sendrecv';
    this.holding = !talking;
    const rtcp = { rtcpMux: remote.rtcpMux, ...(remote.rtcpPort !== undefined && { rtcpPort: remote.rtcpPort }) };
    await this.rtpPort.setRemote(nowhere ? undefined : { ip: remote.ip, port: remote.port }, receives, talking, rtcp);
    await this.member.setMuted(!talking);
  }

  /**
   * The call's quality from RTCP: the phone's stream as we receive it, ours as the phone
   * reports it, and the round-trip time; undefined before start().
   */
  quality(): Promise<CallQuality | undefined> {
    return this.rtpPort.quality();
  }

  /** quality() per direction, with loss ratios and an estimated MOS (see quality/call-quality.ts); undefined before start(). */
  async qualityReport(): Promise<CallQualityReport | undefined> {
    const session = this.session;
    const stats = session && (await this.quality());
    return stats && session && assessQuality(stats, session);
  }

  /** RFC 4733 packets of the negotiated telephone-event payload type. */
  onTelephoneEvent(payloadType: number, listener: (packet: RtpPacketView) => void): void {
    this.rtpPort.tap(payloadType, listener).catch(() => undefined);
  }

  /** Leaves the room and frees the port. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.rtpPort.meeting.off('lost', this.mediaLost);
    // Leaving the room closes the member's transports (and so its producer).
    this.room.remove(this.member.id, reason);
    this.rtpPort.close();
    this.release();
  }

  /** The media thread died: the call cannot go on, and is ended rather than left silent. */
  private readonly mediaLost = (reason: string): void => {
    if (this.closed) return;
    this.member.channel.disconnect(`media thread failed (${reason})`, 'media-lost');
  };
}
