/**
 * RTCP for one phone call (RFC 3550 §6): measures the phone's RTP stream and ours, says
 * when our next compound report is due and writes it (SR or RR, with SDES CNAME), reads the
 * phone's reports about our stream (loss, jitter, round-trip time), and writes the BYE that
 * ends the call. It owns no socket and no timer: the media plane passes every packet and the
 * time in, and sends what comes back. All times are ms on one clock whose zero is the Unix
 * epoch (`performance.timeOrigin + performance.now()`), since SRs carry wall-clock NTP time.
 */
import type { RtpPacketView } from '../rtp-packet.js';
import { compactNtp, compactUnitsToMs, msToCompactUnits, ntpFromUnixMs } from './ntp-time.js';
import { readRtcp, type RtcpReadResult } from './read-rtcp.js';
import { ReceiveStatistics } from './receive-statistics.js';
import { reportIntervalMs } from './report-interval.js';
import {
  writeGoodbye,
  writeReceiverReport,
  writeSenderReport,
  writeSourceDescription,
  type ReportBlock,
} from './rtcp-packet.js';
import { SendStatistics } from './send-statistics.js';

/** IPv4 and UDP headers, which §6.2's RTCP packet size counts. */
const UDP_IP_OVERHEAD = 28;
const REPORT_BLOCK_BYTES = 24;
/** A phone's LSR is checked against our last SRs: an unknown one yields no round-trip time. */
const SENDER_REPORTS_REMEMBERED = 8;
/** 64 kbit/s of audio plus RTP/UDP/IP headers at 50 packets/s: G.711's, and more than opus usually takes. */
const DEFAULT_SESSION_BANDWIDTH_BPS = 80_000;

export interface RtcpSessionOptions {
  /** The SSRC of our RTP stream to the phone, which our reports come from. */
  readonly ssrc: number;
  /** Our CNAME (§6.5.1); a random one per call is fine (RFC 7022). At most 255 bytes of UTF-8. */
  readonly cname: string;
  /** The call codec's RTP clock rate (8000 for G.711, 48000 for opus). */
  readonly clockRate: number;
  /** The codec's payload type. Jitter is measured on it only: RFC 4733 events repeat their start timestamp. */
  readonly payloadType: number;
  /** When the call's media starts; the first report is due 1.0-3.1 s later. */
  readonly startMs: number;
  /** The session bandwidth in bits/s (b=AS); RTCP gets 5 % of it. */
  readonly sessionBandwidthBps?: number;
  /** Uniform in [0, 1); Math.random unless a test needs known intervals. */
  readonly random?: () => number;
}

export interface RtcpStats {
  /** The phone's RTP as we receive it; undefined until its stream passed probation (two packets in sequence). */
  readonly received?: {
    readonly ssrc: number;
    readonly packets: number;
    readonly expected: number;
    /** Expected minus received since the stream started (negative with duplicates). */
    readonly lost: number;
    /** lost / expected since the stream started, 0 when nothing was lost. */
    readonly lossRatio: number;
    /** The fraction lost in the interval before our last report, 0-1. */
    readonly fractionLost: number;
    readonly jitterMs: number;
    readonly extendedHighestSequence: number;
  };
  /** Our RTP to the phone. */
  readonly sent: { readonly ssrc: number; readonly packets: number; readonly octets: number };
  /** Our RTP as the phone's last report about it says it arrived. */
  readonly reportedByPhone?: {
    /** In the phone's last report interval, 0-1. */
    readonly fractionLost: number;
    readonly cumulativeLost: number;
    readonly jitterMs: number;
    readonly extendedHighestSequence: number;
    readonly atMs: number;
  };
  /** From the phone's last report that echoed one of our SRs (§6.4.1). */
  readonly roundTripMs?: number;
  /** The counts in the phone's last SR. */
  readonly phoneSent?: { readonly packets: number; readonly octets: number; readonly atMs: number };
  /** The phone's RTCP BYE, if it sent one. */
  readonly phoneGoodbye?: { readonly ssrcs: readonly number[]; readonly reason?: string; readonly atMs: number };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class RtcpSession {
  private readonly clockRate: number;
  private readonly payloadType: number;
  private readonly cname: string;
  private readonly sessionBandwidthBps: number;
  private readonly random: () => number;
  private sending: SendStatistics;
  private weSent = false;
  private receiving: ReceiveStatistics | undefined;
  private lastFractionLost = 0;
  private phoneSenderReport: { ssrc: number; compactNtp: number; arrivalMs: number } | undefined;
  private readonly ourSenderReports: number[] = [];
  private averageRtcpSize: number;
  private nextReportAt: number;
  private ended = false;
  private readonly phone: Mutable<Pick<RtcpStats, 'reportedByPhone' | 'roundTripMs' | 'phoneSent' | 'phoneGoodbye'>> = {};

  constructor(options: RtcpSessionOptions) {
    if (!(options.clockRate > 0)) throw new RangeError(`RTCP session clock rate must be positive, not ${options.clockRate}`);
    const sessionBandwidthBps = options.sessionBandwidthBps ?? DEFAULT_SESSION_BANDWIDTH_BPS;
    if (!(sessionBandwidthBps > 0)) throw new RangeError(`RTCP session bandwidth must be positive, not ${sessionBandwidthBps}`);
    this.clockRate = options.clockRate;
    this.payloadType = options.payloadType;
    this.cname = options.cname;
    this.sessionBandwidthBps = sessionBandwidthBps;
    this.random = options.random ?? Math.random;
    this.sending = new SendStatistics(options.ssrc, options.clockRate);
    // A.7 starts the average at the probable size of the first report: an RR with one block.
    const sourceDescription = writeSourceDescription(options.ssrc, options.cname);
    this.averageRtcpSize = UDP_IP_OVERHEAD + 8 + REPORT_BLOCK_BYTES + sourceDescription.length;
    this.nextReportAt = options.startMs + this.interval(true, 0);
  }

  /** When reportDue() will next return a report. */
  get nextReportAtMs(): number {
    return this.nextReportAt;
  }

  /** Every RTP packet from the phone (after SRTP), with when it arrived. */
  rtpReceived(packet: Pick<RtpPacketView, 'ssrc' | 'sequenceNumber' | 'timestamp' | 'payloadType'>, arrivalMs: number): void {
    // A new SSRC is a new source (the phone restarted its stream): its statistics start over.
    if (this.receiving?.ssrc !== packet.ssrc) this.receiving = new ReceiveStatistics(packet.ssrc, packet.sequenceNumber, this.clockRate);
    const counted = this.receiving.countSequence(packet.sequenceNumber);
    if (counted && packet.payloadType === this.payloadType) this.receiving.updateJitter(packet.timestamp, arrivalMs);
  }

  /** Every RTP packet we send to the phone: its SSRC, RTP timestamp and payload size (no header, no padding). */
  rtpSent(ssrc: number, timestamp: number, payloadBytes: number, sentMs: number): void {
    if (ssrc !== this.sending.ssrc) this.sending = new SendStatistics(ssrc, this.clockRate);
    this.sending.record(timestamp, payloadBytes, sentMs);
    this.weSent = true;
  }

  /** Every RTCP packet from the phone (after SRTCP). A malformed one changes nothing and is returned as an error. */
  rtcpReceived(compound: Buffer, arrivalMs: number): RtcpReadResult {
    const result = readRtcp(compound);
    if (!result.ok) return result;
    this.averageRtcpSize += (compound.length + UDP_IP_OVERHEAD - this.averageRtcpSize) / 16;
    for (const packet of result.packets) {
      switch (packet.type) {
        case 'sender-report':
          this.phoneSenderReport = {
            ssrc: packet.ssrc,
            compactNtp: compactNtp({ seconds: packet.sender.ntpSeconds, fraction: packet.sender.ntpFraction }),
            arrivalMs,
          };
          this.phone.phoneSent = { packets: packet.sender.packetCount, octets: packet.sender.octetCount, atMs: arrivalMs };
          this.readReportsAboutUs(packet.reports, arrivalMs);
          break;
        case 'receiver-report':
          this.readReportsAboutUs(packet.reports, arrivalMs);
          break;
        case 'goodbye':
          this.phone.phoneGoodbye = { ssrcs: packet.ssrcs, ...(packet.reason === undefined ? {} : { reason: packet.reason }), atMs: arrivalMs };
          break;
        case 'source-description':
        case 'other':
          break;
      }
    }
    return result;
  }

  /** The compound report to send now, if one is due (none after goodbye()). */
  reportDue(nowMs: number): Buffer | undefined {
    if (this.ended || nowMs < this.nextReportAt) return undefined;
    return this.report(nowMs, []);
  }

  /** The last compound packet of the call: a report, our CNAME and a BYE (§6.6). Reports stop after it. */
  goodbye(nowMs: number, reason?: string): Buffer {
    this.ended = true;
    return this.report(nowMs, [writeGoodbye([this.sending.ssrc], reason)]);
  }

  stats(): RtcpStats {
    const receiving = this.receiving?.counting ? this.receiving : undefined;
    return {
      ...(receiving && {
        received: {
          ssrc: receiving.ssrc,
          packets: receiving.packetsReceived,
          expected: receiving.expected,
          lost: receiving.cumulativeLost,
          lossRatio: receiving.expected > 0 ? Math.max(0, receiving.cumulativeLost) / receiving.expected : 0,
          fractionLost: this.lastFractionLost / 256,
          jitterMs: receiving.jitterMs,
          extendedHighestSequence: receiving.extendedHighestSequence,
        },
      }),
      sent: { ssrc: this.sending.ssrc, packets: this.sending.packetCount, octets: this.sending.octetCount },
      ...this.phone,
    };
  }

  private report(nowMs: number, after: Buffer[]): Buffer {
    const ssrc = this.sending.ssrc;
    const senders = (this.weSent ? 1 : 0) + (this.receiving?.receivedSinceLastReport ? 1 : 0);
    const blocks = this.reportBlocks(nowMs);
    // An SR when we sent since the last report (§6.4), else an RR.
    const sender = this.weSent ? this.sending.senderInfo(nowMs) : undefined;
    if (sender) this.rememberSenderReport(compactNtp({ seconds: sender.ntpSeconds, fraction: sender.ntpFraction }));
    const first = sender ? writeSenderReport(ssrc, sender, blocks) : writeReceiverReport(ssrc, blocks);
    const compound = Buffer.concat([first, writeSourceDescription(ssrc, this.cname), ...after]);
    this.averageRtcpSize += (compound.length + UDP_IP_OVERHEAD - this.averageRtcpSize) / 16;
    this.nextReportAt = nowMs + this.interval(false, senders);
    this.weSent = false;
    return compound;
  }

  /** A block about the phone's stream when it sent since our last report (§6.4). */
  private reportBlocks(nowMs: number): ReportBlock[] {
    const source = this.receiving;
    if (!source?.counting || !source.receivedSinceLastReport) return [];
    this.lastFractionLost = source.takeFractionLost();
    const senderReport = this.phoneSenderReport?.ssrc === source.ssrc ? this.phoneSenderReport : undefined;
    return [
      {
        ssrc: source.ssrc,
        fractionLost: this.lastFractionLost,
        cumulativeLost: source.cumulativeLost,
        extendedHighestSequence: source.extendedHighestSequence,
        jitter: Math.floor(source.jitter),
        lastSenderReport: senderReport?.compactNtp ?? 0,
        delaySinceLastSenderReport: senderReport ? msToCompactUnits(nowMs - senderReport.arrivalMs) : 0,
      },
    ];
  }

  private readReportsAboutUs(reports: readonly ReportBlock[], arrivalMs: number) {
    const block = reports.find((report) => report.ssrc === this.sending.ssrc);
    if (!block) return;
    this.phone.reportedByPhone = {
      fractionLost: block.fractionLost / 256,
      cumulativeLost: block.cumulativeLost,
      jitterMs: (block.jitter * 1000) / this.clockRate,
      extendedHighestSequence: block.extendedHighestSequence,
      atMs: arrivalMs,
    };
    // RTT = A - LSR - DLSR in 1/65536 s (§6.4.1); a negative result means a bad DLSR.
    if (block.lastSenderReport === 0 || !this.ourSenderReports.includes(block.lastSenderReport)) return;
    const arrival = compactNtp(ntpFromUnixMs(arrivalMs));
    const roundTrip = (arrival - block.lastSenderReport - block.delaySinceLastSenderReport) >>> 0;
    if (roundTrip < 0x80000000) this.phone.roundTripMs = compactUnitsToMs(roundTrip);
  }

  private rememberSenderReport(compact: number) {
    this.ourSenderReports.push(compact);
    if (this.ourSenderReports.length > SENDER_REPORTS_REMEMBERED) this.ourSenderReports.shift();
  }

  private interval(initial: boolean, senders: number): number {
    return reportIntervalMs({
      members: 2,
      senders,
      sessionBandwidthBps: this.sessionBandwidthBps,
      weSent: this.weSent,
      averageRtcpSize: this.averageRtcpSize,
      initial,
      random: this.random,
    });
  }
}
