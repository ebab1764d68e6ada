/**
 * The UDP port a phone sends its RTP to. The phone's audio goes straight into the
 * meeting's mixer (`hear`), and on to mediasoup only while a browser listens to it
 * (`relay`), through the meeting's socket connected to the meeting's PlainTransport (one
 * per meeting, not one per call). mediasoup can only route a producer's RTP by a known
 * SSRC, and phones rarely announce theirs in SDP (and change it on re-INVITEs), so every
 * packet gets the leg's fixed SSRC stamped on its way in (and, relayed, an RFC 6464 audio
 * level where the gateway can measure one). The port can learn the phone's address from
 * its packets (symmetric RTP, RFC 4961), which is what lets NATed phones work, and hands
 * RFC 4733 telephone-events to the DTMF decoder instead of mediasoup. The mixer's leg
 * sends the phone its mix from this same socket (`sendToPhone`). With an RTCP session
 * (`report`), the port measures both streams, reads the phone's RTCP and sends ours from
 * the same socket, ending with a BYE when it closes. mediasoup sends nothing the phone
 * needs: its RTCP is about its own consumers, and the phone's audio comes from the mixer.
 * With SRTP (`secure`), what the phone sends is authenticated and decrypted before
 * anything reads it (a packet that fails is dropped, and moves no latch), and what we
 * send it, RTP and RTCP, is protected on its way out.
 * It lives in the media thread that owns the phone's meeting.
 */
import { type RemoteInfo, type Socket, type SocketOptions, createSocket } from 'node:dgram';
import { isIP, isIPv6 } from 'node:net';
import { withAudioLevelExtension } from './audio-level.js';
import { readRtcp } from './rtcp/read-rtcp.js';
import type { RtcpSession } from './rtcp/rtcp-session.js';
import { isRtcp, readRtp, rtpPayloadLength, type RtpPacketView } from './rtp-packet.js';
import { SrtpSession } from './srtp/srtp-session.js';
import type { SrtpKeys } from './srtp/srtp-suites.js';

export interface RtpAddress {
  readonly ip: string;
  readonly port: number;
}

/** Where the phone takes RTCP: its RTP address (rtcp-mux, RFC 5761), else its own RTCP port. */
export interface RtcpTarget {
  readonly rtcpMux: boolean;
  readonly rtcpPort?: number;
}

const TIME_ORIGIN = performance.timeOrigin;
/** The epoch clock RTCP needs (SRs carry wall-clock time), monotonic within the process. */
export const epochNowMs = () => TIME_ORIGIN + performance.now();

export interface PhoneRtpPortOptions {
  /** Where to bind the phone-facing socket, and the range its port comes from. */
  readonly listenIp: string;
  readonly minPort: number;
  readonly maxPort: number;
  /** The SSRC the mediasoup producer was created with. */
  readonly producerSsrc: number;
  /** Send where the phone's RTP comes from (RTP_COMEDIA), rather than only to its SDP address. */
  readonly latch: boolean;
  /** Where to write when the phone last sent (epoch ms), at index 0, and when its first RTP came, at index 1. */
  readonly lastReceived?: Float64Array;
}

/** Where the phone's audio goes: the packet (SSRC stamped), read (its own SSRC), with its level when measured. */
export type PhoneAudioListener = (packet: Buffer, rtp: RtpPacketView, level: number | undefined) => void;

/** Measures a phone packet's payload for the RFC 6464 header extension with this id. */
export interface LevelMeter {
  readonly extensionId: number;
  level(payload: Buffer): number;
}

export class PhoneRtpPort {
  /** Called with every RTP packet of this payload type; such packets do not reach mediasoup. */
  private tapped: { payloadType: number; listener: (packet: RtpPacketView) => void } | undefined;
  private meter: LevelMeter | undefined;
  /** Where the phone's audio goes: the mixer input, while its audio may be heard, with its measured level. */
  private listener: PhoneAudioListener | undefined;
  /** When the phone last sent RTP or RTCP, and its first RTP (epoch ms), for whoever watches the call. */
  private readonly lastReceived: Float64Array;
  /** RTP packets from the phone and to it, for the node's metrics. */
  packetsIn = 0;
  packetsOut = 0;
  private rtcp: RtcpSession | undefined;
  /** The call's SRTP keys in use; plain RTP when undefined. */
  private srtp: SrtpSession | undefined;
  private rtcpTarget: RtcpTarget = { rtcpMux: true };
  /** Where the phone's SDP says it receives; undefined for 0.0.0.0. */
  private announced: RtpAddress | undefined;
  /**
   * Where the phone's packets come from, when latching: learnt from the first packet and
   * then held. Packets from elsewhere are dropped, so a stranger who finds the port can
   * neither inject audio nor redirect the meeting's audio to itself ("RTP bleed"). The
   * SDP address may always take over, and a new SDP address starts learning again.
   */
  private latched: RtpAddress | undefined;
  /** The SSRC of the phone's RTP, as last seen: its own RTCP carries it (RFC 3550 §6.4). */
  private phoneSsrc: number | undefined;
  /** The SSRC of what we send the phone (the meeting's mix): its reports are about it. */
  private sentSsrc: number | undefined;
  private sending = true;
  /** The meeting's socket, connected to its PlainTransport (a connected socket sends cheaper); not ours to close. */
  private toMediasoup: Socket | undefined;
  /** Whether the phone's audio goes to mediasoup: only while a browser consumes it. */
  private relaying = false;
  private closed = false;

  private constructor(
    private readonly phoneSocket: Socket,
    private readonly producerSsrc: number,
    private readonly latch: boolean,
    lastReceived: Float64Array | undefined,
  ) {
    this.lastReceived = lastReceived ?? new Float64Array(2);
    phoneSocket.on('message', (packet, from) => this.fromPhone(packet, from));
    // A send to a vanished phone (ICMP unreachable) must not end the call.
    phoneSocket.on('error', () => undefined);
  }

  static async open(options: PhoneRtpPortOptions): Promise<PhoneRtpPort> {
    const phoneSocket = await bindInRange(options.listenIp, options.minPort, options.maxPort);
    return new PhoneRtpPort(phoneSocket, options.producerSsrc, options.latch, options.lastReceived);
  }

  /** The port phones send to (announced in SDP). */
  get port(): number {
    return this.phoneSocket.address().port;
  }

  /** Where media goes now: the latched source, else the SDP address; undefined for nowhere. */
  get phoneAddress(): RtpAddress | undefined {
    return (this.latch && this.latched) || this.announced;
  }

  /** The socket, connected to the PlainTransport the phone's producer is on, that phone RTP is relayed through. */
  relayThrough(socket: Socket): void {
    this.toMediasoup = socket;
  }

  /** The address in the phone's SDP (undefined for 0.0.0.0), whether it wants our media, and where its RTCP goes. */
  setRemote(announced: RtpAddress | undefined, sending: boolean, rtcpTarget: RtcpTarget = { rtcpMux: true }): void {
    if (!sameAddress(announced, this.announced)) this.latched = undefined;
    this.announced = announced;
    this.sending = sending;
    this.rtcpTarget = rtcpTarget;
  }

  /**
   * The SRTP keys the SDP exchange settled (undefined: plain RTP). A re-INVITE's keys
   * carry on the session's state where they keep a key (see SrtpSession.rekeyed).
   */
  secure(keys: SrtpKeys | undefined): void {
    this.srtp = keys && (this.srtp ? this.srtp.rekeyed(keys) : new SrtpSession(keys));
  }

  /** Measures both streams into `session`, which reads the phone's RTCP; sendDueReport() sends ours. */
  report(session: RtcpSession): void {
    this.rtcp = session;
  }

  /** Our RTCP report if one is due, even on hold (RFC 3550 §6: reports go on while the session lasts). */
  sendDueReport(nowMs: number): void {
    if (this.closed) return;
    const report = this.rtcp?.reportDue(nowMs);
    const target = this.rtcpAddress;
    const packet = report && this.protectRtcp(report);
    if (packet && target) this.phoneSocket.send(packet, target.port, target.ip);
  }

  measureLevels(meter: LevelMeter): void {
    this.meter = meter;
  }

  /** The phone's audio packets (SSRC stamped) go to `listener`, with their level when measured; undefined stops it. */
  hear(listener: PhoneAudioListener | undefined): void {
    this.listener = listener;
  }

  /** Whether the phone's audio goes on to mediasoup (SSRC and level stamped), from its next packet. */
  relay(relaying: boolean): void {
    this.relaying = relaying;
  }

  /** A packet of ours (the meeting's mix) to the phone, unless it does not want media now. */
  sendToPhone(packet: Buffer): void {
    const phone = this.phoneAddress;
    if (this.closed || !this.sending || !phone || phone.port === 0) return;
    const ssrc = packet.readUInt32BE(8);
    this.sentSsrc = ssrc;
    const protectedPacket = this.srtp ? this.srtp.protectRtp(packet) : packet;
    if (!protectedPacket) return;
    this.phoneSocket.send(protectedPacket, phone.port, phone.ip);
    this.packetsOut++;
    if (!this.rtcp) return;
    const payloadLength = rtpPayloadLength(packet);
    if (payloadLength !== undefined) this.rtcp.rtpSent(ssrc, packet.readUInt32BE(4), payloadLength, epochNowMs());
  }

  tap(payloadType: number, listener: (packet: RtpPacketView) => void): void {
    this.tapped = { payloadType, listener };
  }

  /**
   * Frees both sockets, after a last RTCP packet with a BYE (RFC 3550 §6.6) when reporting.
   * Its reason is fixed: why the gateway ends a call is none of the network's business.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const target = this.rtcpAddress;
    const goodbye = this.rtcp && this.protectRtcp(this.rtcp.goodbye(epochNowMs(), 'call ended'));
    if (!goodbye || !target) return void this.phoneSocket.close();
    // The send completes after the current tick: the socket closes once it is out.
    this.phoneSocket.send(goodbye, target.port, target.ip, () => this.phoneSocket.close());
  }

  /**
   * Whether a packet comes from the phone, learning where its RTP comes from. RTCP does not
   * move the latch: without rtcp-mux it comes from the phone's RTCP port, so any port of the
   * phone's address is taken.
   */
  private fromLatchedPhone(from: RemoteInfo, rtcp: boolean): boolean {
    if (rtcp) return !this.latched || from.address === this.latched.ip || from.address === this.announced?.ip;
    if (isFrom(from, this.latched)) return true;
    if (this.latched && !isFrom(from, this.announced)) return false;
    this.latched = { ip: from.address, port: from.port };
    return true;
  }

  /**
   * Whether an RTCP packet is the phone's: from the source of its RTP, or reporting on what
   * we send it. RTCP is taken from any port of the phone's address, and reports about
   * other calls can reach the port: ours for another call whose phone, on a host of ours,
   * has no rtcp-mux go to that phone's RTP port + 1, which may be this port. Taken as the
   * phone's, such a report would keep a vanished phone's call alive past its RTP timeout.
   * Before the phone's first RTP there is nothing to tell its RTCP by.
   */
  private isPhoneRtcp(rtcp: Buffer): boolean {
    const phoneSsrc = this.phoneSsrc;
    if (phoneSsrc === undefined) return true;
    const read = readRtcp(rtcp);
    return (
      read.ok &&
      read.packets.some((packet) => {
        switch (packet.type) {
          case 'sender-report':
          case 'receiver-report':
            return packet.ssrc === phoneSsrc || packet.reports.some(({ ssrc }) => ssrc === this.sentSsrc);
          case 'source-description':
            return packet.chunks.some(({ ssrc }) => ssrc === phoneSsrc);
          case 'goodbye':
            return packet.ssrcs.includes(phoneSsrc);
          case 'other':
            return false;
        }
      })
    );
  }

  /** Our RTP address's RTCP counterpart: the same address under rtcp-mux, else the phone's RTCP port on its SDP address. */
  private get rtcpAddress(): RtpAddress | undefined {
    if (this.rtcpTarget.rtcpMux) {
      const phone = this.phoneAddress;
      return phone && phone.port !== 0 ? phone : undefined;
    }
    const { rtcpPort } = this.rtcpTarget;
    return this.announced && rtcpPort !== undefined ? { ip: this.announced.ip, port: rtcpPort } : undefined;
  }

  private protectRtcp(packet: Buffer): Buffer | undefined {
    return this.srtp ? this.srtp.protectRtcp(packet) : packet;
  }

  private fromPhone(received: Buffer, from: RemoteInfo): void {
    if (this.closed || received.length < 12) return;
    const rtcp = isRtcp(received);
    const packet = this.srtp ? (rtcp ? this.srtp.unprotectRtcp(received) : this.srtp.unprotectRtp(received)) : received;
    if (!packet || packet.length < 12) return;
    if (this.latch && !this.fromLatchedPhone(from, rtcp)) return;
    const now = Date.now();
    // mediasoup reports on the phone's stream itself; the phone's RTCP is for our session only.
    if (rtcp) {
      if (!this.isPhoneRtcp(packet)) return;
      this.lastReceived[0] = now;
      this.rtcp?.rtcpReceived(packet, epochNowMs());
      return;
    }
    this.lastReceived[0] = now;
    this.phoneSsrc = packet.readUInt32BE(8);
    this.packetsIn++;
    if (this.lastReceived[1] === 0) this.lastReceived[1] = now;
    const rtp = readRtp(packet);
    if (!rtp) return;
    // Measured before the producer SSRC replaces the phone's, DTMF included.
    this.rtcp?.rtpReceived(rtp, epochNowMs());
    if (this.tapped && rtp.payloadType === this.tapped.payloadType) return this.tapped.listener(rtp);
    if (!this.toMediasoup) return;
    packet.writeUInt32BE(this.producerSsrc, 8);
    const relaying = this.relaying;
    if (!this.listener && !relaying) return;
    const level = this.meter?.level(rtp.payload);
    this.listener?.(packet, rtp, level);
    if (relaying) this.toMediasoup.send(level === undefined ? packet : withAudioLevelExtension(packet, this.meter!.extensionId, level));
  }
}

function sameAddress(a: RtpAddress | undefined, b: RtpAddress | undefined): boolean {
  return a?.ip === b?.ip && a?.port === b?.port;
}

function isFrom(from: RemoteInfo, address: RtpAddress | undefined): boolean {
  return address !== undefined && from.address === address.ip && from.port === address.port;
}

/**
 * dgram looks up the address of every datagram sent on an unconnected socket, and
 * dns.lookup answers even an IP literal on the next tick, at the cost of a tick object per
 * packet. Every address here is an IP literal (RTP_LISTEN_IP, an SDP's c= line, where a
 * packet came from), so it is answered at once, and anything else is refused.
 */
const ipLiteralLookup: NonNullable<SocketOptions['lookup']> = (address, _options, callback) => {
  const family = isIP(address);
  if (family === 0) return callback(new Error(`"${address}" is not an IP address`), '', 0);
  callback(null, address, family);
};

/** A UDP socket on a free port of the range, trying random ports as mediasoup does. */
async function bindInRange(ip: string, minPort: number, maxPort: number): Promise<Socket> {
  const span = maxPort - minPort + 1;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < Math.min(span, 64); i++) {
    const port = minPort + ((start + i * 7919) % span);
    const socket = createSocket({ type: isIPv6(ip) ? 'udp6' : 'udp4', lookup: ipLiteralLookup });
    const bound = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(port, ip, () => resolve(true));
    });
    if (bound) return socket;
    socket.close();
  }
  throw new Error(`no free UDP port in ${minPort}-${maxPort} on ${ip}`);
}
