/**
 * A call's quality per direction, from its RTCP statistics (RFC 3550): the phone's audio
 * as we receive it (our own receive statistics: what the meeting hears) and ours as the
 * phone's reports say it arrived (what the caller hears), each with loss, jitter and an
 * estimated MOS (e-model.ts). The one-way delay the E-model needs is estimated as
 *
 *   Ta = RTT / 2 + one packet (ptime) + a jitter buffer of 2 × jitter, within 20-60 ms
 *
 * the network half of the RTCP round-trip time (0 until the phone echoed one of our SRs),
 * the packetisation, and the playout delay an adaptive jitter buffer like ours (20-60 ms)
 * holds for that jitter. The phone's own buffer is not known; it is assumed to be alike.
 */
import type { CallQuality } from '../plane/plane-protocol.js';
import { codecImpairment, estimateQuality } from './e-model.js';

const MIN_JITTER_BUFFER_MS = 20;
const MAX_JITTER_BUFFER_MS = 60;

export interface DirectionQuality {
  /** Packets lost over the call so far, 0-1. */
  readonly lossRatio: number;
  /** RFC 3550 interarrival jitter, ms. */
  readonly jitterMs: number;
  /** Estimated MOS (1-4.5) and R factor; absent for codecs without published E-model values. */
  readonly mos?: number;
  readonly rFactor?: number;
}

export interface CallQualityReport {
  readonly codec: string;
  /** RTCP round-trip time, once the phone echoed one of our sender reports. */
  readonly roundTripMs?: number;
  /** The phone's audio as the gateway receives it: what the meeting hears. */
  readonly fromPhone?: DirectionQuality & { readonly packets: number; readonly lost: number };
  /** The gateway's audio as the phone's last RTCP report says it arrived: what the caller hears. */
  readonly toPhone?: DirectionQuality & { readonly lost: number };
  /** Why there is no MOS although there are statistics. */
  readonly mosUnavailable?: string;
}

export interface QualityContext {
  readonly codec: string;
  /** Packetisation time of the call, ms. */
  readonly ptimeMs: number;
}

export function assessQuality(stats: CallQuality, { codec, ptimeMs }: QualityContext): CallQualityReport {
  const { received, reportedByPhone, sent, roundTripMs } = stats;
  const networkMs = roundTripMs === undefined ? 0 : roundTripMs / 2;
  const direction = (lossRatio: number, jitterMs: number): DirectionQuality => {
    const jitterBufferMs = Math.min(MAX_JITTER_BUFFER_MS, Math.max(MIN_JITTER_BUFFER_MS, 2 * jitterMs));
    const estimate = estimateQuality(codec, { lossRatio, oneWayDelayMs: networkMs + ptimeMs + jitterBufferMs });
    return { lossRatio: round(lossRatio, 4), jitterMs: round(jitterMs, 1), ...estimate };
  };
  let fromPhone: CallQualityReport['fromPhone'];
  if (received) {
    const lost = Math.max(0, received.lost);
    const expected = received.packets + lost;
    fromPhone = { ...direction(expected > 0 ? lost / expected : 0, received.jitterMs), packets: received.packets, lost };
  }
  let toPhone: CallQualityReport['toPhone'];
  if (reportedByPhone) {
    // What the phone lost of what we had sent by now: the report is a little older than the count, so a slight underestimate.
    const lost = Math.max(0, reportedByPhone.cumulativeLost);
    toPhone = { ...direction(sent.packets > 0 ? Math.min(1, lost / sent.packets) : 0, reportedByPhone.jitterMs), lost };
  }
  const measured = fromPhone ?? toPhone;
  return {
    codec,
    ...(roundTripMs !== undefined && { roundTripMs: round(roundTripMs, 1) }),
    ...(fromPhone && { fromPhone }),
    ...(toPhone && { toPhone }),
    ...(measured && !codecImpairment(codec) && { mosUnavailable: `no published E-model values (Ie, Bpl) for ${codec}` }),
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
