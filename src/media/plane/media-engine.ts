/**
 * Everything a media thread does, behind its message port: the meetings placed on it
 * (each a mixer and a loopback socket connected to the meeting's PlainTransport, which
 * brings browsers' audio and takes phones' audio to browsers), the phones' RTP ports,
 * their speaking, and the one 20 ms clock its mixers tick on. A phone's packets go from
 * the socket that received them into its meeting's mixer, and each leg's mix goes out of
 * the phone's own socket: nothing of the audio path touches another thread.
 */
import { type Socket, createSocket } from 'node:dgram';
import type { MessagePort } from 'node:worker_threads';
import { audioLevel, levelOfEnergy } from '../audio-level.js';
import { g711Energy } from '../codecs/g711.js';
import { createDecoder } from '../codecs/frame-codecs.js';
import { MeetingMixer } from '../mixer/meeting-mixer.js';
import { MixerClock } from '../mixer/mixer-clock.js';
import type { MixerInput } from '../mixer/mixer-input.js';
import type { MixerLeg } from '../mixer/mixer-leg.js';
import { epochNowMs, type LevelMeter, PhoneRtpPort } from '../phone-rtp-port.js';
import { RtcpSession, type RtcpStats } from '../rtcp/rtcp-session.js';
import { isRtcp } from '../rtp-packet.js';
import { SPEAKING_INTERVAL_MS, SpeakingDetector } from '../speaking.js';
import type { TimeSource } from '../mixer/tick-clock.js';
import { NO_PACKETS, addPacketCounts } from './packet-counts.js';
import type {
  CallQuality,
  PhoneCodec,
  PhonePacketCounts,
  PhoneRemote,
  PlaneRequest,
  PlaneRequests,
  PlaneRequestType,
  RelayedTalker,
  RtpAddress,
  ThreadMessage,
} from './plane-protocol.js';

interface EngineMeeting {
  readonly id: string;
  readonly mixer: MeetingMixer;
  /**
   * Connected to the meeting's PlainTransport: mediasoup's consumers of browsers' audio send
   * to it (one SSRC per talker), and its phones' audio is relayed through it to their producers.
   */
  readonly mixSocket: Socket;
  readonly relayed: Map<number, MixerInput>;
  readonly ports: Set<string>;
}

interface EnginePort {
  readonly meeting: EngineMeeting;
  readonly rtp: PhoneRtpPort;
  codec: PhoneCodec | undefined;
  leg: MixerLeg | undefined;
  input: MixerInput | undefined;
  rtcp: RtcpSession | undefined;
  /** Whether what the phone sends may be heard (not while it holds us). */
  talking: boolean;
  /** Muted in the meeting (an operator, or the caller's *6): not heard, whatever its SDP says. */
  muted: boolean;
  /** Whether the phone speaks, from the levels of what may be heard. */
  readonly speech: SpeakingDetector;
  /** Late and concealed counts of the mixer inputs it had before this one (a hold removes the input). */
  heardBefore: { late: number; concealed: number };
}

/**
 * How often the thread looks for due RTCP reports. Reports are seconds apart (RFC 3550
 * §6.2), so a report goes out at most this late; the mixers' 20 ms ticks need not carry it.
 */
const RTCP_CHECK_MS = 100;

type Handler<T extends PlaneRequestType> = (request: PlaneRequests[T]['request']) => PlaneRequests[T]['result'] | Promise<PlaneRequests[T]['result']>;

export class MediaEngine {
  private readonly meetings = new Map<string, EngineMeeting>();
  private readonly ports = new Map<string, EnginePort>();
  private readonly clock: MixerClock;
  private readonly handlers: { [T in PlaneRequestType]: Handler<T> };
  /** Sends due RTCP reports while the thread has phone ports. */
  private rtcpTimer: NodeJS.Timeout | undefined;
  /** Judges who of its phones speaks, while the thread has phone ports. */
  private speakingTimer: NodeJS.Timeout | undefined;
  /** The packet counts of ports since closed. */
  private closedPorts: PhonePacketCounts = NO_PACKETS;

  constructor(
    private readonly port: MessagePort,
    time?: TimeSource,
  ) {
    this.clock = new MixerClock(time);
    this.handlers = {
      'open-meeting': (r) => this.openMeeting(r.meetingId, r.talkers, r.mediasoup),
      'close-meeting': (r) => this.closeMeeting(r.meetingId),
      'add-talker': (r) => this.addTalker(r.meetingId, r.talker),
      'remove-talker': (r) => this.removeTalker(r.meetingId, r.talkerId),
      'open-port': (r) => this.openPort(r),
      relay: (r) => this.phonePort(r.portId).rtp.relay(r.relaying),
      'start-port': (r) => this.startPort(r.portId, r.codec, r.remote),
      'set-remote': ({ portId, ...remote }) => this.setRemote(this.phonePort(portId), remote),
      'secure-port': ({ portId, srtp }) => this.phonePort(portId).rtp.secure(srtp),
      'set-muted': (r) => {
        const port = this.phonePort(r.portId);
        port.muted = r.muted;
        this.followTalking(port);
      },
      'play-tone': (r) => this.phonePort(r.portId).leg?.play(r.tone),
      tap: (r) => this.tap(r.portId, r.payloadType),
      'close-port': (r) => this.closePort(r.portId),
      'port-stats': (r) => {
        const stats = this.phonePort(r.portId).rtcp?.stats();
        return stats && callQuality(stats);
      },
      counts: (r) => {
        const mixer = this.meetings.get(r.meetingId)?.mixer;
        return mixer && mixer.legCount > 0 ? { talkers: mixer.talkerCount, legs: mixer.legCount } : undefined;
      },
      stats: () => {
        const { mixers } = this.clock.stats();
        const { user, system } = process.threadCpuUsage();
        return {
          mixers,
          lateness: this.clock.recentLateness(),
          tickLateness: this.clock.latenessCounts(),
          phonePackets: this.phonePackets(),
          cpuMs: (user + system) / 1000,
        };
      },
      'busy-for': (r) => {
        const until = performance.now() + r.ms;
        while (performance.now() < until);
      },
      crash: () => process.exit(70),
    };
    port.on('message', (request: PlaneRequest) => void this.handle(request));
  }

  /** Stops everything: sockets closed, clock stopped. */
  close(): void {
    for (const id of [...this.meetings.keys()]) this.closeMeeting(id);
    this.port.close();
  }

  private async handle(request: PlaneRequest): Promise<void> {
    const handler = this.handlers[request.type] as Handler<PlaneRequestType>;
    try {
      const result = await handler(request as never);
      this.post({ type: 'reply', id: request.id, ok: true, result });
    } catch (err) {
      this.post({ type: 'reply', id: request.id, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  }

  private post(message: ThreadMessage): void {
    this.port.postMessage(message);
  }

  private async openMeeting(meetingId: string, talkers: number, mediasoup: RtpAddress): Promise<{ mixPort: number }> {
    if (this.meetings.has(meetingId)) throw new Error(`meeting "${meetingId}" is already open on this thread`);
    const mixSocket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      mixSocket.once('error', reject);
      mixSocket.bind(0, '127.0.0.1', () => {
        mixSocket.connect(mediasoup.port, mediasoup.ip, () => {
          mixSocket.off('error', reject);
          resolve();
        });
      });
    });
    mixSocket.on('error', () => undefined);
    const mixer = new MeetingMixer({
      talkers,
      clock: this.clock,
      tickFailed: (reason, failures) => this.post({ type: 'log', level: 'error', message: 'mixer tick failed', fields: { meetingId, reason, failures } }),
    });
    const meeting: EngineMeeting = { id: meetingId, mixer, mixSocket, relayed: new Map(), ports: new Set() };
    mixSocket.on('message', (packet) => {
      if (packet.length < 12 || isRtcp(packet)) return;
      meeting.relayed.get(packet.readUInt32BE(8))?.receive(packet, performance.now());
    });
    this.meetings.set(meetingId, meeting);
    return { mixPort: mixSocket.address().port };
  }

  private closeMeeting(meetingId: string): void {
    const meeting = this.meetings.get(meetingId);
    if (!meeting) return;
    for (const portId of [...meeting.ports]) this.closePort(portId);
    this.meetings.delete(meetingId);
    meeting.mixer.close();
    meeting.mixSocket.close();
  }

  private addTalker(meetingId: string, talker: RelayedTalker): void {
    const meeting = this.meeting(meetingId);
    const { ssrc, ...source } = talker;
    meeting.relayed.set(ssrc, meeting.mixer.addTalker(source));
  }

  private removeTalker(meetingId: string, talkerId: string): void {
    const meeting = this.meetings.get(meetingId);
    if (!meeting) return;
    for (const [ssrc, input] of meeting.relayed) if (input.id === talkerId) meeting.relayed.delete(ssrc);
    meeting.mixer.removeTalker(talkerId);
  }

  private async openPort(request: PlaneRequests['open-port']['request']): Promise<PlaneRequests['open-port']['result']> {
    const meeting = this.meeting(request.meetingId);
    const rtp = await PhoneRtpPort.open({ ...request, lastReceived: new Float64Array(request.lastReceived) });
    if (!this.meetings.has(meeting.id)) {
      rtp.close();
      throw new Error(`meeting "${meeting.id}" closed`);
    }
    rtp.relayThrough(meeting.mixSocket);
    this.ports.set(request.portId, {
      meeting,
      rtp,
      codec: undefined,
      leg: undefined,
      input: undefined,
      rtcp: undefined,
      talking: true,
      muted: false,
      speech: new SpeakingDetector(),
      heardBefore: { late: 0, concealed: 0 },
    });
    meeting.ports.add(request.portId);
    this.rtcpTimer ??= setInterval(() => this.sendDueReports(), RTCP_CHECK_MS);
    this.speakingTimer ??= setInterval(() => this.judgeSpeaking(), SPEAKING_INTERVAL_MS);
    return { port: rtp.port };
  }

  private startPort(portId: string, codec: PhoneCodec, remote: PhoneRemote): void {
    const port = this.phonePort(portId);
    if (port.codec) throw new Error('the port has started already');
    port.codec = codec;
    const meter = levelMeter(codec);
    if (meter) port.rtp.measureLevels(meter);
    port.leg = port.meeting.mixer.addLeg(
      { memberId: codec.memberId, codec: codec.codec, payloadType: codec.payloadType, clockRate: codec.clockRate, channels: codec.channels },
      (packet) => port.rtp.sendToPhone(packet),
    );
    port.rtcp = new RtcpSession({
      ssrc: port.leg.ssrc,
      cname: `${codec.memberId}@gateway`,
      clockRate: codec.clockRate,
      payloadType: codec.payloadType,
      startMs: epochNowMs(),
    });
    port.rtp.report(port.rtcp);
    this.setRemote(port, remote);
  }

  private setRemote(port: EnginePort, { remote, listening, talking, rtcp }: PhoneRemote): void {
    port.rtp.setRemote(remote, listening, rtcp);
    if (port.leg) port.leg.listening = listening && remote !== undefined;
    port.talking = talking;
    this.followTalking(port);
  }

  /** The phone's audio is in the mix while it talks to us and is not muted; held, its music is not. */
  private followTalking(port: EnginePort): void {
    const { codec, meeting } = port;
    if (!codec) return;
    if (!port.talking || port.muted) {
      if (port.input) {
        meeting.mixer.removeTalker(port.input.id);
        const { late, concealed } = port.input.jitterCounts;
        port.heardBefore = { late: port.heardBefore.late + late, concealed: port.heardBefore.concealed + concealed };
      }
      port.input = undefined;
      port.rtp.hear(undefined);
      return;
    }
    if (port.input) return;
    const input = meeting.mixer.addTalker({
      id: `phone:${codec.memberId}`,
      ownerId: codec.memberId,
      codec: codec.codec,
      clockRate: codec.clockRate,
      levelExtensionId: codec.levelExtensionId,
    });
    port.input = input;
    port.rtp.hear((packet, rtp, level) => {
      input.receiveRead(packet, rtp, performance.now(), level);
      if (level !== undefined) port.speech.add(level);
    });
  }

  private tap(portId: string, payloadType: number): void {
    this.phonePort(portId).rtp.tap(payloadType, ({ payloadType: type, sequenceNumber, timestamp, ssrc, marker, payload }) =>
      this.post({ type: 'telephone-event', portId, packet: { payloadType: type, sequenceNumber, timestamp, ssrc, marker, payload: new Uint8Array(payload) } }),
    );
  }

  private closePort(portId: string): void {
    const port = this.ports.get(portId);
    if (!port) return;
    this.ports.delete(portId);
    port.meeting.ports.delete(portId);
    this.closedPorts = addPacketCounts(this.closedPorts, portPacketCounts(port));
    if (port.input) port.meeting.mixer.removeTalker(port.input.id);
    port.leg?.close();
    port.rtp.close();
    if (this.ports.size === 0) {
      clearInterval(this.rtcpTimer);
      clearInterval(this.speakingTimer);
      this.rtcpTimer = undefined;
      this.speakingTimer = undefined;
    }
  }

  /** The phones' packets: those of open ports and of ports since closed. */
  private phonePackets(): PhonePacketCounts {
    let total = this.closedPorts;
    for (const port of this.ports.values()) total = addPacketCounts(total, portPacketCounts(port));
    return total;
  }

  /** Tells the main thread of each phone that starts or stops speaking (a held phone's sound is not heard, so it stops). */
  private judgeSpeaking(): void {
    for (const [portId, { speech }] of this.ports) {
      if (speech.judge()) this.post({ type: 'speaking', portId, speaking: speech.speaking });
    }
  }

  private sendDueReports(): void {
    const now = epochNowMs();
    for (const port of this.ports.values()) port.rtp.sendDueReport(now);
  }

  private meeting(meetingId: string): EngineMeeting {
    const meeting = this.meetings.get(meetingId);
    if (!meeting) throw new Error(`meeting "${meetingId}" is not open on this thread`);
    return meeting;
  }

  private phonePort(portId: string): EnginePort {
    const port = this.ports.get(portId);
    if (!port) throw new Error(`no port "${portId}" on this thread`);
    return port;
  }
}

function portPacketCounts({ rtp, rtcp, input, heardBefore }: EnginePort): PhonePacketCounts {
  const heard = input?.jitterCounts ?? { late: 0, concealed: 0 };
  return {
    received: rtp.packetsIn,
    sent: rtp.packetsOut,
    // Negative with duplicates (RFC 3550 A.3): no loss, then.
    lost: Math.max(0, rtcp?.stats().received?.lost ?? 0),
    late: heardBefore.late + heard.late,
    concealed: heardBefore.concealed + heard.concealed,
  };
}

/** The session's statistics in the protocol's plain shape. */
function callQuality({ received, sent, reportedByPhone, roundTripMs }: RtcpStats): CallQuality {
  return {
    ...(received && { received: { packets: received.packets, lost: received.lost, fractionLost: received.fractionLost, jitterMs: received.jitterMs } }),
    sent: { packets: sent.packets, octets: sent.octets },
    ...(reportedByPhone && {
      reportedByPhone: {
        fractionLost: reportedByPhone.fractionLost,
        cumulativeLost: reportedByPhone.cumulativeLost,
        jitterMs: reportedByPhone.jitterMs,
        atMs: reportedByPhone.atMs,
      },
    }),
    ...(roundTripMs !== undefined && { roundTripMs }),
  };
}

/**
 * G.711 levels cost a table lookup per sample, G.722's a decoder of its own (the stream
 * is continuous, so its state stays right). Opus callers go without: the mixer measures
 * their decoded audio instead, and they show no speaking flag.
 */
function levelMeter({ codec, levelExtensionId: extensionId }: PhoneCodec): LevelMeter | undefined {
  if (extensionId === undefined) return undefined;
  if (codec === 'PCMU' || codec === 'PCMA') return { extensionId, level: (payload) => levelOfEnergy(g711Energy(codec, payload), payload.length) };
  if (codec === 'G722') {
    const decoder = createDecoder('G722', 16000);
    return { extensionId, level: (payload) => audioLevel(decoder.decode(payload)) };
  }
  return undefined;
}
