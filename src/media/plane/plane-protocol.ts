/**
 * What the main thread and a media thread say to each other. Control only: audio never
 * crosses as messages (it comes and goes on the sockets the media thread owns), only the
 * rare RFC 4733 telephone-event packet does, for the call's DTMF decoder.
 * Every request carries an id its reply repeats; events come unasked.
 */
import type { AudioCodecName } from '../codecs/frame-codecs.js';
import type { ConfirmationTone } from '../mixer/confirmation-tones.js';
import type { LatenessCounts } from '../mixer/lateness-histogram.js';
import type { RtcpTarget } from '../phone-rtp-port.js';
import type { SrtpKeys } from '../srtp/srtp-suites.js';

export interface RtpAddress {
  readonly ip: string;
  readonly port: number;
}

/** A talker that reaches the meeting through mediasoup (a browser), told apart by its SSRC. */
export interface RelayedTalker {
  /** The mediasoup producer's id. */
  readonly id: string;
  /** The room member it belongs to. */
  readonly ownerId: string;
  readonly codec: AudioCodecName;
  readonly clockRate: number;
  readonly levelExtensionId: number | undefined;
  /** The SSRC of the consumer that sends it to the meeting's socket. */
  readonly ssrc: number;
}

/** The phone's codec as negotiated, and what the media thread needs to hear and answer it. */
export interface PhoneCodec {
  /** The room member (the phone), whose own voice its leg leaves out. */
  readonly memberId: string;
  readonly codec: AudioCodecName;
  readonly payloadType: number;
  readonly clockRate: number;
  readonly channels: number;
  /** The RFC 6464 extension id written into the phone's packets; undefined when not measured (opus). */
  readonly levelExtensionId: number | undefined;
}

/**
 * Where the phone receives (undefined: nowhere), whether it wants our media (`listening`),
 * whether what it sends may be heard (`talking`: not while it holds us), and where its RTCP goes.
 */
export interface PhoneRemote {
  readonly remote: RtpAddress | undefined;
  readonly listening: boolean;
  readonly talking: boolean;
  readonly rtcp: RtcpTarget;
}

/** One call's media quality from RTCP (RFC 3550 §6.4), as plain data. */
export interface CallQuality {
  /** The phone's RTP as we receive it; undefined before two packets in sequence. */
  readonly received?: {
    readonly packets: number;
    readonly lost: number;
    /** In the interval before our last report, 0-1. */
    readonly fractionLost: number;
    readonly jitterMs: number;
  };
  readonly sent: { readonly packets: number; readonly octets: number };
  /** Our RTP as the phone's last report says it arrived. */
  readonly reportedByPhone?: {
    readonly fractionLost: number;
    readonly cumulativeLost: number;
    readonly jitterMs: number;
    readonly atMs: number;
  };
  /** From the phone's last report that echoed one of our SRs. */
  readonly roundTripMs?: number;
}

/** Each request, and what its reply carries. */
export interface PlaneRequests {
  /**
   * A meeting's mixer and its loopback socket, connected to the meeting's PlainTransport
   * (`mediasoup`): mediasoup sends it browsers' audio, and phones' audio goes through it to
   * their producers on that transport.
   */
  'open-meeting': { request: { meetingId: string; talkers: number; mediasoup: RtpAddress }; result: { mixPort: number } };
  'close-meeting': { request: { meetingId: string }; result: void };
  'add-talker': { request: { meetingId: string; talker: RelayedTalker }; result: void };
  'remove-talker': { request: { meetingId: string; talkerId: string }; result: void };
  /**
   * A phone's RTP port. `lastReceived` (a Float64Array's buffer of two) is where the thread
   * writes when the phone last sent RTP or RTCP and when its first RTP came (epoch ms), so
   * the main thread reads them without asking.
   */
  'open-port': {
    request: {
      meetingId: string;
      portId: string;
      listenIp: string;
      minPort: number;
      maxPort: number;
      producerSsrc: number;
      latch: boolean;
      lastReceived: SharedArrayBuffer;
    };
    result: { port: number };
  };
  /** Whether the port relays the phone's audio to mediasoup: only while a browser consumes it. */
  relay: { request: { portId: string; relaying: boolean }; result: void };
  /** The phone's codec and where it is are known (one message for both): its audio goes into the mix, and the mix to it. */
  'start-port': { request: { portId: string; codec: PhoneCodec; remote: PhoneRemote }; result: void };
  /** The phone's side changed (a re-INVITE: hold, a new address). */
  'set-remote': { request: { portId: string } & PhoneRemote; result: void };
  /**
   * The call's SRTP keys from the SDP exchange (undefined: plain RTP), before its media
   * starts and after each re-INVITE; the same keys again change nothing.
   */
  'secure-port': { request: { portId: string; srtp: SrtpKeys | undefined }; result: void };
  /**
   * Whether the meeting hears the phone (`muted`: an operator's or the caller's own *6
   * mute), apart from hold: the phone is mixed only while it talks and is not muted.
   */
  'set-muted': { request: { portId: string; muted: boolean }; result: void };
  /** A tone over what the phone hears (see confirmation-tones.ts); none before the port started. */
  'play-tone': { request: { portId: string; tone: ConfirmationTone }; result: void };
  /** Telephone-events of this payload type go to the main thread, not into the mix. */
  tap: { request: { portId: string; payloadType: number }; result: void };
  'close-port': { request: { portId: string }; result: void };
  /** The call's RTCP statistics; undefined before the port started. */
  'port-stats': { request: { portId: string }; result: CallQuality | undefined };
  /** Talkers and legs of a meeting's mixer; undefined while it has no legs. */
  counts: { request: { meetingId: string }; result: { talkers: number; legs: number } | undefined };
  /** The thread's clock: its mixers and how late its recent ticks ran. */
  stats: { request: Record<string, never>; result: ThreadStats };
  /** Test only: keeps the thread busy for `ms`, as a saturated thread would be. */
  'busy-for': { request: { ms: number }; result: void };
  /** Test only: the thread dies at once, as on a fatal bug. */
  crash: { request: Record<string, never>; result: void };
}

export type PlaneRequestType = keyof PlaneRequests;

export type PlaneRequest = {
  [T in PlaneRequestType]: { readonly type: T; readonly id: number } & PlaneRequests[T]['request'];
}[PlaneRequestType];

export interface ThreadStats {
  readonly mixers: number;
  /** How late each recent tick ran (ms), oldest first. */
  readonly lateness: number[];
  /** How late every tick since the thread started ran, in buckets. */
  readonly tickLateness: LatenessCounts;
  /** The phones' RTP on this thread since it started, ports since closed included. */
  readonly phonePackets: PhonePacketCounts;
  /** CPU time the thread used since it started, ms. */
  readonly cpuMs: number;
}

export interface PhonePacketCounts {
  /** RTP packets from phones, and to them. */
  readonly received: number;
  readonly sent: number;
  /** Phones' packets that never came (RFC 3550 cumulative loss). */
  readonly lost: number;
  /** Phones' packets that came too late for the mixer's jitter buffer to play. */
  readonly late: number;
  /** 20 ms frames the mixer concealed for phones' missing packets. */
  readonly concealed: number;
}

export interface TelephoneEventPacket {
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly marker: boolean;
  readonly payload: Uint8Array;
}

export type ThreadMessage =
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: string }
  | { readonly type: 'telephone-event'; readonly portId: string; readonly packet: TelephoneEventPacket }
  /** The phone started or stopped speaking (see speaking.ts); sent on change only. */
  | { readonly type: 'speaking'; readonly portId: string; readonly speaking: boolean }
  /** Something the thread wants logged (rare: failing ticks), with the meeting it concerns. */
  | { readonly type: 'log'; readonly level: 'warn' | 'error'; readonly message: string; readonly fields: Record<string, string | number> };
