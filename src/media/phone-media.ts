/**
 * The media of one phone call: the phone-facing RTP port, a PlainTransport on the
 * meeting's router (on loopback, fed by that port), the producer carrying the caller's
 * audio as-is (browsers consume G.711, G.722 and opus without transcoding), and the
 * caller's membership in the room. Closing it releases all of that.
 */
import { randomInt } from 'node:crypto';
import type { types } from 'mediasoup';
import type { Logger } from '../logger.js';
import type { NegotiatedCodec, TelephoneEvent } from '../sip/sdp/negotiated-media.js';
import { PhoneRtpPort, type RtpAddress, type RtpPacketView } from './phone-rtp-port.js';
import type { Room } from './room.js';
import type { MemberChannel, MemberIdentity, RoomMember } from './room-member.js';

export interface PhoneMediaOptions {
  readonly room: Room;
  readonly identity: MemberIdentity;
  readonly channel: MemberChannel;
  readonly codec: NegotiatedCodec;
  readonly telephoneEvent: TelephoneEvent | undefined;
  /** Where the phone said it receives; undefined means learn it from its packets. */
  readonly remote: RtpAddress | undefined;
  readonly rtp: { readonly listenIp: string; readonly minPort: number; readonly maxPort: number };
  readonly log: Logger;
}

export class PhoneMedia {
  private closed = false;

  private constructor(
    private readonly room: Room,
    readonly member: RoomMember,
    readonly rtpPort: PhoneRtpPort,
    readonly transport: types.PlainTransport,
    readonly producer: types.Producer,
  ) {}

  /** Admits the caller to the room (busy when full) and sets up its media. */
  static async open(options: PhoneMediaOptions): Promise<PhoneMedia> {
    const { room, codec } = options;
    const member = room.admit(options.identity, options.channel);
    const ssrc = randomInt(1, 2 ** 32 - 1);
    let rtpPort: PhoneRtpPort | undefined;
    try {
      rtpPort = await PhoneRtpPort.open({ ...options.rtp, producerSsrc: ssrc, ...(options.remote && { remote: options.remote }) });
      const transport = await room.router.createPlainTransport({
        listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
        rtcpMux: true,
        comedia: false,
      });
      member.adopt(transport);
      const loop = rtpPort.loopbackAddress;
      await transport.connect({ ip: loop.ip, port: loop.port });
      rtpPort.connectToMediasoup({ ip: '127.0.0.1', port: transport.tuple.localPort });
      const producer = await member.produce(transport.id, {
        codecs: [
          {
            mimeType: `audio/${codec.name}`,
            clockRate: codec.clockRate,
            payloadType: codec.payloadType,
            ...(codec.channels > 1 && { channels: codec.channels }),
            parameters: { ...codec.parameters },
          },
        ],
        encodings: [{ ssrc }],
      });
      return new PhoneMedia(room, member, rtpPort, transport, producer);
    } catch (err) {
      rtpPort?.close();
      room.remove(member.id, 'media setup failed');
      throw err;
    }
  }

  get port(): number {
    return this.rtpPort.port;
  }

  /** RFC 4733 packets of the negotiated telephone-event payload type. */
  onTelephoneEvent(payloadType: number, listener: (packet: RtpPacketView) => void): void {
    this.rtpPort.tap(payloadType, listener);
  }

  /** A re-INVITE: the phone's new address (0.0.0.0 while it holds). */
  setRemote(remote: RtpAddress | undefined): void {
    this.rtpPort.setRemote(remote);
  }

  /** Leaves the room and frees the port. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    // Leaving the room closes the member's transports (and so its producer and consumers).
    this.room.remove(this.member.id, reason);
    this.rtpPort.close();
  }
}
