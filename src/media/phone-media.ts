/**
 * The media of one phone call: the phone-facing RTP port, a PlainTransport on the
 * meeting's router (on loopback, fed by that port), the producer carrying the caller's
 * audio as-is (browsers consume G.711, G.722 and opus without transcoding), the mixer
 * leg the caller hears the meeting through, and the caller's membership in the room.
 * open() allocates before the codec is known, so a late offer can announce the port;
 * start() follows the SDP exchange. Closing it releases all of that.
 */
import { randomInt } from 'node:crypto';
import type { types } from 'mediasoup';
import type { NegotiatedMedia } from './sdp/negotiated-media.js';
import { AUDIO_LEVEL_URI, audioLevel, levelOfEnergy } from './audio-level.js';
import { g711Energy } from './codecs/g711.js';
import { G722Decoder } from './codecs/g722.js';
import { ContinuousRtpStream } from './continuous-rtp-stream.js';
import type { MixerLeg } from './mixer/mixer-leg.js';
import { type LevelMeter, PhoneRtpPort } from './phone-rtp-port.js';
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

export class PhoneMedia {
  private producerInUse: types.Producer | undefined;
  private leg: MixerLeg | undefined;
  /** A phone that holds us, or only sends, costs the mixer no encoding. */
  private listening = true;
  private closed = false;

  private constructor(
    private readonly room: Room,
    readonly member: RoomMember,
    private readonly rtpPort: PhoneRtpPort,
    readonly transport: types.PlainTransport,
    private readonly producerSsrc: number,
  ) {}

  /** Admits the caller to the room (busy when full) and opens its port and transport. */
  static async open(options: PhoneMediaOptions): Promise<PhoneMedia> {
    const { room } = options;
    const member = room.admit(options.identity, options.channel);
    const producerSsrc = randomInt(1, 2 ** 32 - 1);
    let rtpPort: PhoneRtpPort | undefined;
    try {
      rtpPort = await PhoneRtpPort.open({ ...options.rtp, producerSsrc, latch: options.latch });
      const transport = await room.router.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
        rtcpMux: true,
        comedia: false,
      });
      member.adopt(transport);
      const loop = rtpPort.loopbackAddress;
      await transport.connect({ ip: loop.ip, port: loop.port });
      await rtpPort.connectToMediasoup({ ip: '127.0.0.1', port: transport.tuple.localPort });
      return new PhoneMedia(room, member, rtpPort, transport, producerSsrc);
    } catch (err) {
      rtpPort?.close();
      room.remove(member.id, 'media setup failed');
      throw err;
    }
  }

  get port(): number {
    return this.rtpPort.port;
  }

  get producer(): types.Producer | undefined {
    return this.producerInUse;
  }

  /** Starts the caller's audio in the negotiated codec, and what the caller hears. */
  async start(negotiated: NegotiatedMedia): Promise<void> {
    const { codec } = negotiated;
    const meter = levelMeter(codec.name);
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
      headerExtensions: meter ? [{ uri: AUDIO_LEVEL_URI, id: AUDIO_LEVEL_EXTENSION_ID }] : [],
      encodings: [{ ssrc: this.producerSsrc }],
    });
    if (meter) this.rtpPort.measureLevels(meter);
    this.rtpPort.sendAs(new ContinuousRtpStream(randomInt(1, 2 ** 32 - 1), codec.payloadType, codec.clockRate));
    await this.update(negotiated);
    await this.hearMeeting(negotiated.codec);
  }

  /**
   * Follows an SDP exchange: where the phone receives and which way media flows. A phone
   * that does not send both ways (hold, or its own mute) shows as muted, and what it
   * plays while holding (music) does not reach the meeting.
   */
  async update({ remote, remoteDirection }: Pick<NegotiatedMedia, 'remote' | 'remoteDirection'>): Promise<void> {
    const nowhere = remote.ip === '0.0.0.0' || remote.ip === '::' || remote.port === 0;
    const receives = remoteDirection === 'sendrecv' || remoteDirection === 'recvonly';
    this.rtpPort.setRemote(nowhere ? undefined : { ip: remote.ip, port: remote.port }, receives);
    this.listening = receives && !nowhere;
    if (this.leg) this.leg.listening = this.listening;
    await this.member.setMuted(remoteDirection !== 'sendrecv');
  }

  /** The meeting's mix (minus the caller), consumed on the call's PlainTransport in the phone's codec. */
  private async hearMeeting(codec: NegotiatedMedia['codec']): Promise<void> {
    const { name, clockRate, channels, payloadType } = codec;
    this.member.rtpCapabilities = {
      codecs: [{ kind: 'audio', mimeType: `audio/${name}`, clockRate, ...(channels > 1 && { channels }), preferredPayloadType: payloadType }],
      headerExtensions: [],
    };
    const leg = await this.room.addMixerLeg({ memberId: this.member.id, codec: name, payloadType, clockRate, channels });
    if (this.closed) return leg.close();
    leg.listening = this.listening;
    this.leg = leg;
    const consumer = await this.member.consume(this.transport.id, leg.producerId);
    await consumer.resume();
  }

  /** RFC 4733 packets of the negotiated telephone-event payload type. */
  onTelephoneEvent(payloadType: number, listener: (packet: RtpPacketView) => void): void {
    this.rtpPort.tap(payloadType, listener);
  }

  /** Leaves the room and frees the port. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.leg?.close();
    // Leaving the room closes the member's transports (and so its producer and consumers).
    this.room.remove(this.member.id, reason);
    this.rtpPort.close();
  }
}

/**
 * G.711 levels cost a table lookup per sample, G.722's a decoder of its own (the stream
 * is continuous, so its state stays right). Opus callers go without: the mixer measures
 * their decoded audio instead, and they show no speaking flag.
 */
function levelMeter(codec: NegotiatedMedia['codec']['name']): LevelMeter | undefined {
  const extensionId = AUDIO_LEVEL_EXTENSION_ID;
  if (codec === 'PCMU' || codec === 'PCMA') return { extensionId, level: (payload) => levelOfEnergy(g711Energy(codec, payload), payload.length) };
  if (codec === 'G722') {
    const decoder = new G722Decoder();
    return { extensionId, level: (payload) => audioLevel(decoder.decode(payload)) };
  }
  return undefined;
}
