/** What we sent on our RTP stream, for the sender info of our SRs (RFC 3550 §6.4.1). */
import { ntpFromUnixMs } from './ntp-time.js';
import type { SenderInfo } from './rtcp-packet.js';

export class SendStatistics {
  private packets = 0;
  private octets = 0;
  private last: { timestamp: number; sentMs: number } | undefined;

  constructor(
    readonly ssrc: number,
    private readonly clockRate: number,
  ) {}

  record(timestamp: number, payloadBytes: number, sentMs: number): void {
    this.packets++;
    this.octets += payloadBytes;
    this.last = { timestamp, sentMs };
  }

  get packetCount(): number {
    return this.packets;
  }

  get octetCount(): number {
    return this.octets;
  }

  /**
   * The sender info for an SR sent at `nowMs`. Its RTP timestamp is the one that corresponds
   * to that instant, run on from the last packet's by the time since (§6.4.1), not that
   * packet's own. Undefined before the first packet.
   */
  senderInfo(nowMs: number): SenderInfo | undefined {
    if (!this.last) return undefined;
    const ntp = ntpFromUnixMs(nowMs);
    const elapsedUnits = Math.round(((nowMs - this.last.sentMs) * this.clockRate) / 1000);
    return {
      ntpSeconds: ntp.seconds,
      ntpFraction: ntp.fraction,
      rtpTimestamp: (this.last.timestamp + elapsedUnits) >>> 0,
      packetCount: this.packets >>> 0,
      octetCount: this.octets >>> 0,
    };
  }
}
