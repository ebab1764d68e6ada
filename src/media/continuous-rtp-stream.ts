/**
 * The one RTP stream a phone receives, whatever mediasoup consumer currently feeds it.
 * A phone expects one SSRC with sequence numbers and timestamps that run on; when the
 * source changes (another speaker's consumer), the new source's numbering is shifted to
 * continue where the last packet left off, and the payload type becomes the one the
 * phone negotiated (mediasoup sends the router's).
 */
export class ContinuousRtpStream {
  private source: { ssrc: number; sequenceOffset: number; timestampOffset: number } | undefined;
  private last: { sequenceNumber: number; timestamp: number; atMs: number } | undefined;

  constructor(
    readonly ssrc: number,
    private readonly payloadType: number,
    private readonly clockRate: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** Rewrites an RTP packet from mediasoup in place. */
  rewrite(packet: Buffer): void {
    const ssrc = packet.readUInt32BE(8);
    const sequenceNumber = packet.readUInt16BE(2);
    const timestamp = packet.readUInt32BE(4);
    const now = this.nowMs();
    let marker = packet[1]! & 0x80;
    if (this.source?.ssrc !== ssrc) {
      this.source = this.continueWith(ssrc, sequenceNumber, timestamp, now);
      marker = 0x80; // a new talkspurt, so the phone's jitter buffer may re-align
    }
    const outSequence = (sequenceNumber + this.source.sequenceOffset) & 0xffff;
    const outTimestamp = (timestamp + this.source.timestampOffset) >>> 0;
    packet[1] = marker | this.payloadType;
    packet.writeUInt16BE(outSequence, 2);
    packet.writeUInt32BE(outTimestamp, 4);
    packet.writeUInt32BE(this.ssrc, 8);
    // A late (reordered) packet must not move the continuation point backwards.
    const ahead = this.last === undefined || ((outSequence - this.last.sequenceNumber) & 0xffff) < 0x8000;
    if (ahead) this.last = { sequenceNumber: outSequence, timestamp: outTimestamp, atMs: now };
  }

  private continueWith(ssrc: number, sequenceNumber: number, timestamp: number, now: number) {
    if (!this.last) return { ssrc, sequenceOffset: 0, timestampOffset: 0 };
    const nextSequence = (this.last.sequenceNumber + 1) & 0xffff;
    // The timestamp advances by the wall-clock time since the last packet, at least one tick.
    const elapsed = Math.max(1, Math.round(((now - this.last.atMs) * this.clockRate) / 1000));
    const nextTimestamp = (this.last.timestamp + elapsed) >>> 0;
    return {
      ssrc,
      sequenceOffset: (nextSequence - sequenceNumber) & 0xffff,
      timestampOffset: (nextTimestamp - timestamp) >>> 0,
    };
  }
}
