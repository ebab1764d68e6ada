/**
 * The media of one phone call: the phone-facing RTP port on the media thread its meeting
 * lives on (which feeds the caller's audio straight into the meeting's mixer and sends
 * the caller the meeting's mix), the producer carrying the caller's audio as-is for
 * browsers (they consume G.711, G.722 and opus without transcoding) on the meeting's one
 * PlainTransport to that thread, fed by the port while a browser consumes the caller,
 * and the caller's membership in
 * the room. open() takes only the port, so our SDP can announce it; start() follows the
 * SDP exchange once the call is up, and only then does the caller take a place in the
 * room and appear to the others: a set-up that never completes holds no place and is
 * never seen. Closing it releases all of that. When the media thread dies, or the room
 * closes before start(), the call is ended through its channel.
 */
import { randomInt } from 'node:crypto';
import type { types } from 'mediasoup';
import { GatewayError } from '../errors.js';
import type { NegotiatedMedia } from './sdp/negotiated-media.js';
import { AUDIO_LEVEL_URI } from './audio-level.js';
import type { ThreadPhonePort } from './plane/meeting-media.js';
import type { CallQuality, PhoneRemote } from './plane/plane-protocol.js';
import { type CallQualityReport, type QualityContext, assessQuality } from './quality/call-quality.js';
import { MediaThreadLostError } from './plane/media-thread.js';
import type { RtpPacketView } from './rtp-packet.js';
import { ROOM_CLOSE_TEXT, type Room } from './room.js';
import type { MemberChannel, MemberIdentity, RoomMember } from './room-member.js';
import type { RoomCloseReason } from './room-notices.js';

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
  private holding = false;
  /** Muted in the meeting by an operator or by the caller's *6; apart from hold, which the phone ends itself. */
  private mutedInMeeting = false;
  private producerInUse: types.Producer | undefined;
  /** The codec and packetisation, once started. */
  private session: QualityContext | undefined;
  /** Set from start() on. */
  private memberInRoom: RoomMember | undefined;
  private closed = false;

  private constructor(
    private readonly room: Room,
    readonly identity: MemberIdentity,
    private readonly channel: MemberChannel,
    private readonly rtpPort: ThreadPhonePort,
    private readonly producerSsrc: number,
    private readonly release: () => void,
  ) {
    rtpPort.meeting.once('lost', this.mediaLost);
    room.once('closed', this.roomClosed);
  }

  /** Opens the caller's port; busy when the meeting is full now, so a full meeting costs no port. */
  static async open(options: PhoneMediaOptions): Promise<PhoneMedia> {
    const { room } = options;
    room.assertHasPlace();
    const producerSsrc = randomInt(1, 2 ** 32 - 1);
    let use: Awaited<ReturnType<Room['phoneMedia']>> | undefined;
    try {
      use = await room.phoneMedia();
      const rtpPort = await use.media.openPort({ ...options.rtp, producerSsrc, latch: options.latch });
      return new PhoneMedia(room, options.identity, options.channel, rtpPort, producerSsrc, use.release);
    } catch (err) {
      use?.release();
      if (err instanceof MediaThreadLostError) throw new GatewayError('unavailable', err.message);
      throw err;
    }
  }

  get port(): number {
    return this.rtpPort.port;
  }

  /** The caller in the room; undefined before start(). */
  get member(): RoomMember | undefined {
    return this.memberInRoom;
  }

  get producer(): types.Producer | undefined {
    return this.producerInUse;
  }

  /** Whether the phone holds the call, or only listens: it may send nothing on purpose. */
  get onHold(): boolean {
    return this.holding;
  }

  /** Muted in the meeting (see setMuted); a caller on hold shows as muted too, but is not this. */
  get muted(): boolean {
    return this.mutedInMeeting;
  }

  /**
   * Mutes or unmutes the caller in the meeting, independently of hold: its audio leaves
   * the mix and its producer pauses (so neither phones nor browsers hear it), the roster
   * shows it muted, and the caller hears the confirmation tone (one beep muted, two
   * unmuted). False, with no tone, when it already was so; conflict before start().
   */
  async setMuted(muted: boolean): Promise<boolean> {
    const member = this.memberInRoom;
    if (!member || !this.session) throw new GatewayError('conflict', 'the call\'s media has not started yet');
    if (this.mutedInMeeting === muted) return false;
    this.mutedInMeeting = muted;
    await this.rtpPort.setMuted(muted);
    await member.setMuted(muted || this.holding);
    await this.rtpPort.playTone(muted ? 'muted' : 'unmuted');
    return true;
  }

  /** A key the caller pressed, told to the meeting's browsers; nothing before start(). */
  announceDigit(digit: string): void {
    if (this.memberInRoom && !this.closed) this.room.digitPressed(this.memberInRoom.id, digit);
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

  /**
   * The call is up: the caller takes its place in the room (busy when the meeting filled
   * up meanwhile) and its audio starts in the negotiated codec, as does what it hears.
   */
  async start(negotiated: NegotiatedMedia): Promise<void> {
    // Keyed before the port relays anything: SRTP from the phone never reaches the mixer or mediasoup undecrypted.
    await this.rtpPort.secure(negotiated.srtp);
    const member = this.join();
    const { codec } = negotiated;
    this.session = { codec: codec.name, ptimeMs: negotiated.ptime };
    // G.711 and G.722 packets get a measured level; opus callers go without (the mixer measures them).
    const levelExtensionId = codec.name === 'opus' ? undefined : AUDIO_LEVEL_EXTENSION_ID;
    // The media thread judges the caller's speaking from those levels, and relays its audio only while a browser listens.
    this.rtpPort.onSpeaking((speaking) => this.room.phoneSpeaking(member.id, speaking));
    this.room.feedOnDemand(member.id, (running) => this.rtpPort.relay(running));
    // On the meeting's one transport to its media thread: the call needs none of its own.
    this.producerInUse = await member.produceOnShared(this.rtpPort.meeting.transport, {
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
    const remote = this.follow(negotiated);
    await this.rtpPort.start({ memberId: member.id, codec: name, payloadType, clockRate, channels, levelExtensionId }, remote);
    await member.setMuted(!remote.talking);
  }

  /** Admits the caller: ours from here, a close() removes it from the room (and closes its producer, made or being made). */
  private join(): RoomMember {
    if (this.closed) throw new GatewayError('gone', 'the call ended before its media started');
    this.room.off('closed', this.roomClosed);
    return (this.memberInRoom = this.room.admit(this.identity, this.channel));
  }

  /**
   * Follows an SDP exchange: where the phone receives and which way media flows. A phone
   * that does not send both ways (hold, or its own mute) shows as muted, and what it
   * plays while holding (music) does not reach the meeting. Unholding does not unmute a
   * caller muted in the meeting.
   */
  async update(negotiated: Pick<NegotiatedMedia, 'remote' | 'remoteDirection' | 'srtp'>): Promise<void> {
    const remote = this.follow(negotiated);
    await this.rtpPort.secure(negotiated.srtp);
    await this.rtpPort.setRemote(remote);
    await this.memberInRoom?.setMuted(!remote.talking || this.mutedInMeeting);
  }

  /** The phone's side as its SDP says, for its port; notes whether it holds. */
  private follow({ remote, remoteDirection }: Pick<NegotiatedMedia, 'remote' | 'remoteDirection'>): PhoneRemote {
    const nowhere = remote.ip === '0.0.0.0' || remote.ip === '::' || remote.port === 0;
    const talking = remoteDirection === 'sendrecv';
    this.holding = !talking;
    return {
      remote: nowhere ? undefined : { ip: remote.ip, port: remote.port },
      listening: remoteDirection === 'sendrecv' || remoteDirection === 'recvonly',
      talking,
      rtcp: { rtcpMux: remote.rtcpMux, ...(remote.rtcpPort !== undefined && { rtcpPort: remote.rtcpPort }) },
    };
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

  /** Leaves the room (when in it) and frees the port. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.rtpPort.meeting.off('lost', this.mediaLost);
    this.room.off('closed', this.roomClosed);
    // Leaving the room closes the member's transports (and so its producer).
    if (this.memberInRoom) this.room.remove(this.memberInRoom.id, reason);
    this.rtpPort.close();
    this.release();
  }

  /** The media thread died: the call cannot go on, and is ended rather than left silent. */
  private readonly mediaLost = (reason: string): void => {
    if (this.closed) return;
    this.channel.disconnect(`media thread failed (${reason})`, 'media-lost');
  };

  /** The room closed before the caller joined it: the room cannot tell a caller it has not admitted. */
  private readonly roomClosed = (reason: RoomCloseReason): void => {
    if (this.closed || this.memberInRoom) return;
    this.channel.disconnect(ROOM_CLOSE_TEXT[reason], reason);
  };
}
