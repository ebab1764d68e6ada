import { describe, expect, it } from 'vitest';
import { compactNtp, ntpFromUnixMs } from '../../../src/media/rtcp/ntp-time.js';
import { readRtcp } from '../../../src/media/rtcp/read-rtcp.js';
import { writeGoodbye, writeReceiverReport, writeSenderReport, writeSourceDescription, type ReportBlock, type RtcpPacket } from '../../../src/media/rtcp/rtcp-packet.js';
import { RtcpSession, type RtcpSessionOptions } from '../../../src/media/rtcp/rtcp-session.js';

const OUR_SSRC = 0x0a0b0c0d;
const PHONE_SSRC = 0x50505050;
const PCMU = 0;
const TELEPHONE_EVENT = 101;
const START_MS = Date.UTC(2026, 11, 6, 4, 0, 0);
const COMPENSATION = Math.E - 1.5;

function session(options: Partial<RtcpSessionOptions> = {}) {
  return new RtcpSession({ ssrc: OUR_SSRC, cname: 'gw-call-1', clockRate: 8000, payloadType: PCMU, startMs: START_MS, random: () => 0.5, ...options });
}

function packets(compound: Buffer | undefined): readonly RtcpPacket[] {
  expect(compound).toBeDefined();
  const result = readRtcp(compound!);
  if (!result.ok) throw new Error(result.error);
  return result.packets;
}

/** The phone's 20 ms PCMU packets: sequence numbers from `first`, arriving on time. */
function phoneSends(rtcp: RtcpSession, first: number, count: number, fromMs: number, skip: readonly number[] = []) {
  for (let i = 0; i < count; i++) {
    const sequenceNumber = (first + i) & 0xffff;
    if (!skip.includes(sequenceNumber)) rtcp.rtpReceived({ ssrc: PHONE_SSRC, sequenceNumber, timestamp: 8000 + 160 * i, payloadType: PCMU }, fromMs + 20 * i);
  }
}

function phoneReport(block: Partial<ReportBlock>): Buffer {
  const report: ReportBlock = { ssrc: OUR_SSRC, fractionLost: 0, cumulativeLost: 0, extendedHighestSequence: 0, jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0, ...block };
  return Buffer.concat([writeReceiverReport(PHONE_SSRC, [report]), writeSourceDescription(PHONE_SSRC, 'phone')]);
}

describe('RtcpSession', () => {
  it('is due for its first report after half the 5 s minimum, randomised and compensated (RFC 3550 §6.2, A.7)', () => {
    const rtcp = session();
    const firstAt = START_MS + 2500 / COMPENSATION;
    expect(rtcp.nextReportAtMs).toBeCloseTo(firstAt, 6);
    expect(rtcp.reportDue(firstAt - 1)).toBeUndefined();
    expect(rtcp.reportDue(firstAt)).toBeDefined();
    expect(rtcp.nextReportAtMs).toBeCloseTo(firstAt + 5000 / COMPENSATION, 6);
    expect(rtcp.reportDue(firstAt + 1)).toBeUndefined();
  });

  it('sends an RR with no report block and its CNAME while nobody has sent RTP', () => {
    const rtcp = session();
    expect(packets(rtcp.reportDue(START_MS + 10_000))).toEqual([
      { type: 'receiver-report', ssrc: OUR_SSRC, reports: [] },
      { type: 'source-description', chunks: [{ ssrc: OUR_SSRC, items: [{ type: 1, text: 'gw-call-1' }] }] },
    ]);
  });

  it('sends an SR when we sent RTP since the last report, its RTP timestamp run on to the moment of the report', () => {
    const rtcp = session();
    for (let i = 0; i < 100; i++) rtcp.rtpSent(OUR_SSRC, 1000 + 160 * i, 160, START_MS + 20 * i);
    const reportAt = START_MS + 20 * 99 + 500; // 500 ms after the last packet: 4000 units on
    const ntp = ntpFromUnixMs(reportAt);
    const [first, description] = packets(rtcp.reportDue(reportAt));
    expect(first).toEqual({
      type: 'sender-report',
      ssrc: OUR_SSRC,
      sender: { ntpSeconds: ntp.seconds, ntpFraction: ntp.fraction, rtpTimestamp: 1000 + 160 * 99 + 4000, packetCount: 100, octetCount: 16000 },
      reports: [],
    });
    expect(description?.type).toBe('source-description');
    // Nothing sent since: the next report is an RR again.
    expect(packets(rtcp.reportDue(reportAt + 10_000))[0]?.type).toBe('receiver-report');
  });

  it('reports the phone\'s stream in one block: fraction and cumulative loss, extended highest sequence, jitter', () => {
    const rtcp = session();
    phoneSends(rtcp, 65500, 100, START_MS, [65530, 65531, 10]); // wraps at 65535; 3 lost
    const [report] = packets(rtcp.reportDue(START_MS + 3000));
    expect(report).toEqual({
      type: 'receiver-report',
      ssrc: OUR_SSRC,
      reports: [
        // Counting starts at 65501 (65500 is probation): 99 expected, 96 received.
        { ssrc: PHONE_SSRC, fractionLost: Math.floor((3 * 256) / 99), cumulativeLost: 3, extendedHighestSequence: 0x10000 + 63, jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0 },
      ],
    });
    expect(rtcp.stats().received).toEqual({
      ssrc: PHONE_SSRC,
      packets: 96,
      expected: 99,
      lost: 3,
      lossRatio: 3 / 99,
      fractionLost: Math.floor((3 * 256) / 99) / 256,
      jitterMs: 0,
      extendedHighestSequence: 0x10000 + 63,
    });
  });

  it('leaves the block out when the phone sent nothing since the last report (§6.4)', () => {
    const rtcp = session();
    phoneSends(rtcp, 1, 50, START_MS);
    expect(packets(rtcp.reportDue(START_MS + 3000))[0]).toMatchObject({ reports: [{ ssrc: PHONE_SSRC }] });
    expect(packets(rtcp.reportDue(START_MS + 10_000))[0]).toMatchObject({ reports: [] });
  });

  it('measures jitter on the codec\'s packets only, not on RFC 4733 events that repeat their start timestamp', () => {
    const rtcp = session();
    phoneSends(rtcp, 1, 10, START_MS);
    for (let i = 0; i < 10; i++) rtcp.rtpReceived({ ssrc: PHONE_SSRC, sequenceNumber: 11 + i, timestamp: 9600, payloadType: TELEPHONE_EVENT }, START_MS + 200 + 50 * i);
    expect(rtcp.stats().received).toMatchObject({ packets: 19, jitterMs: 0 });
  });

  it('starts the phone\'s statistics over when its SSRC changes', () => {
    const rtcp = session();
    phoneSends(rtcp, 1, 50, START_MS, [20, 21]);
    expect(rtcp.stats().received).toMatchObject({ lost: 2 });
    for (let i = 0; i < 5; i++) rtcp.rtpReceived({ ssrc: 0x77, sequenceNumber: 900 + i, timestamp: 0, payloadType: PCMU }, START_MS + 2000 + 20 * i);
    expect(rtcp.stats().received).toMatchObject({ ssrc: 0x77, packets: 4, lost: 0, extendedHighestSequence: 904 });
  });

  it('echoes the phone\'s last SR in LSR and the time since in DLSR (1/65536 s)', () => {
    const rtcp = session();
    phoneSends(rtcp, 1, 50, START_MS);
    const phoneNtp = { seconds: 0xe5f6a7b8, fraction: 0x40000000 };
    const sender = { ntpSeconds: phoneNtp.seconds, ntpFraction: phoneNtp.fraction, rtpTimestamp: 1, packetCount: 50, octetCount: 8000 };
    expect(rtcp.rtcpReceived(Buffer.concat([writeSenderReport(PHONE_SSRC, sender, []), writeSourceDescription(PHONE_SSRC, 'phone')]), START_MS + 1000).ok).toBe(true);
    const [report] = packets(rtcp.reportDue(START_MS + 2500));
    expect(report).toMatchObject({ reports: [{ lastSenderReport: compactNtp(phoneNtp), delaySinceLastSenderReport: 1.5 * 65536 }] });
    expect(rtcp.stats().phoneSent).toEqual({ packets: 50, octets: 8000, atMs: START_MS + 1000 });
  });

  it('reads the phone\'s report about our stream: loss, jitter in ms, and the round trip from LSR and DLSR (§6.4.1)', () => {
    const rtcp = session();
    rtcp.rtpSent(OUR_SSRC, 0, 160, START_MS);
    const srAt = START_MS + 2100;
    const [sr] = packets(rtcp.reportDue(srAt));
    const lsr = sr?.type === 'sender-report' ? compactNtp({ seconds: sr.sender.ntpSeconds, fraction: sr.sender.ntpFraction }) : 0;
    // The phone holds our SR for 1 s before it reports; the network takes 40 ms each way.
    const result = rtcp.rtcpReceived(phoneReport({ fractionLost: 64, cumulativeLost: 12, extendedHighestSequence: 70_000, jitter: 160, lastSenderReport: lsr, delaySinceLastSenderReport: 65536 }), srAt + 1080);
    expect(result.ok).toBe(true);
    const stats = rtcp.stats();
    expect(stats.reportedByPhone).toEqual({ fractionLost: 0.25, cumulativeLost: 12, jitterMs: 20, extendedHighestSequence: 70_000, atMs: srAt + 1080 });
    // 1/65536 s resolution, and LSR keeps only 16 bits of the fraction: within 0.05 ms.
    expect(stats.roundTripMs).toBeGreaterThan(79.95);
    expect(stats.roundTripMs).toBeLessThan(80.05);
  });

  it('gives no round trip for an LSR that is not one of our SRs, nor for a block about another SSRC', () => {
    const rtcp = session();
    rtcp.rtpSent(OUR_SSRC, 0, 160, START_MS);
    rtcp.reportDue(START_MS + 2100);
    rtcp.rtcpReceived(phoneReport({ lastSenderReport: 0x12345678, delaySinceLastSenderReport: 10 }), START_MS + 3000);
    rtcp.rtcpReceived(phoneReport({ ssrc: 0x999, fractionLost: 200 }), START_MS + 3100);
    expect(rtcp.stats().roundTripMs).toBeUndefined();
    expect(rtcp.stats().reportedByPhone).toMatchObject({ fractionLost: 0, atMs: START_MS + 3000 });
  });

  it('returns a malformed packet from the phone as an error and changes nothing', () => {
    const rtcp = session();
    const before = rtcp.stats();
    expect(rtcp.rtcpReceived(Buffer.from('81c90007deadbeef', 'hex'), START_MS)).toEqual({
      ok: false,
      error: 'RTCP packet 1 (type 201) says it is 32 bytes but 8 are left',
    });
    expect(rtcp.stats()).toEqual(before);
  });

  it('records the phone\'s BYE and its reason', () => {
    const rtcp = session();
    rtcp.rtcpReceived(Buffer.concat([writeReceiverReport(PHONE_SSRC, []), writeSourceDescription(PHONE_SSRC, 'phone'), writeGoodbye([PHONE_SSRC], 'hangup')]), START_MS + 5000);
    expect(rtcp.stats().phoneGoodbye).toEqual({ ssrcs: [PHONE_SSRC], reason: 'hangup', atMs: START_MS + 5000 });
  });

  it('ends with a compound report, CNAME and BYE, and sends no report after it', () => {
    const rtcp = session();
    rtcp.rtpSent(OUR_SSRC, 0, 160, START_MS);
    phoneSends(rtcp, 1, 10, START_MS);
    const last = packets(rtcp.goodbye(START_MS + 1000, 'call ended'));
    expect(last.map((packet) => packet.type)).toEqual(['sender-report', 'source-description', 'goodbye']);
    expect(last[2]).toEqual({ type: 'goodbye', ssrcs: [OUR_SSRC], reason: 'call ended' });
    expect(rtcp.reportDue(START_MS + 60_000)).toBeUndefined();
  });

  it('reports from the SSRC we send with, and counts afresh when it changes', () => {
    const rtcp = session();
    rtcp.rtpSent(OUR_SSRC, 0, 160, START_MS);
    rtcp.rtpSent(0x1111, 50, 80, START_MS + 20);
    expect(rtcp.stats().sent).toEqual({ ssrc: 0x1111, packets: 1, octets: 80 });
    expect(packets(rtcp.reportDue(START_MS + 3000))[0]).toMatchObject({ type: 'sender-report', ssrc: 0x1111 });
  });
});
