/**
 * How long to wait before the next RTCP report (RFC 3550 §6.2, §6.3.1 and A.7's
 * rtcp_interval). A call has two members, so the reconsideration and reverse reconsideration
 * that keep large groups in their bandwidth (§6.3.3, §6.3.4) never change anything here and
 * are left out; with audio bandwidths the 5 s minimum always wins over the computed share.
 */

/** RTCP's usual share of the session bandwidth (§6.2). */
const RTCP_BANDWIDTH_FRACTION = 0.05;
const MIN_INTERVAL_S = 5;
const SENDER_BANDWIDTH_FRACTION = 0.25;
const RECEIVER_BANDWIDTH_FRACTION = 1 - SENDER_BANDWIDTH_FRACTION;
/** Makes up for the timer reconsideration algorithm's bias to shorter intervals (A.7). */
const COMPENSATION = Math.E - 1.5;

export interface ReportIntervalInput {
  readonly members: number;
  readonly senders: number;
  /** The session's RTP bandwidth in bits per second (b=AS, or the codec's rate with headers). */
  readonly sessionBandwidthBps: number;
  readonly weSent: boolean;
  /** Average compound RTCP packet size sent and received, with UDP and IP headers, in octets. */
  readonly averageRtcpSize: number;
  /** The first report may go after half the minimum (§6.2). */
  readonly initial: boolean;
  /** Uniform in [0, 1): the randomisation that keeps members from reporting in step. */
  readonly random: () => number;
}

/** The interval in ms: the deterministic interval (at least 5 s, 2.5 s at first), × [0.5, 1.5), / (e − 3/2). */
export function reportIntervalMs(input: ReportIntervalInput): number {
  const minimum = input.initial ? MIN_INTERVAL_S / 2 : MIN_INTERVAL_S;
  let rtcpBandwidth = (input.sessionBandwidthBps / 8) * RTCP_BANDWIDTH_FRACTION;
  let members = input.members;
  // When senders are few, they share a quarter of the RTCP bandwidth and receivers the rest.
  if (input.senders <= input.members * SENDER_BANDWIDTH_FRACTION) {
    if (input.weSent) {
      rtcpBandwidth *= SENDER_BANDWIDTH_FRACTION;
      members = input.senders;
    } else {
      rtcpBandwidth *= RECEIVER_BANDWIDTH_FRACTION;
      members -= input.senders;
    }
  }
  const deterministic = Math.max(minimum, (input.averageRtcpSize * members) / rtcpBandwidth);
  return ((deterministic * (input.random() + 0.5)) / COMPENSATION) * 1000;
}
