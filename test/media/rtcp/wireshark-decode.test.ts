/**
 * The compound RTCP packets an RtcpSession writes, decoded by a real RTCP implementation:
 * Wireshark's dissector (Debian's tshark, installed by scripts/setup.sh --test). The packets
 * go into a pcap through text2pcap (as UDP to port 5005, decoded as RTCP) and every field
 * tshark reads must be the one the call's traffic put there.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compactNtp, ntpFromUnixMs } from '../../../src/media/rtcp/ntp-time.js';
import { writeSenderReport, writeSourceDescription } from '../../../src/media/rtcp/rtcp-packet.js';
import { RtcpSession } from '../../../src/media/rtcp/rtcp-session.js';

const RTCP_PORT = 5005;
const OUR_SSRC = 0x0a0b0c0d;
const PHONE_SSRC = 0x50505050;
const START_MS = Date.UTC(2026, 11, 6, 4, 0, 0);
const FIELDS = [
  'rtcp.version', 'rtcp.padding', 'rtcp.pt', 'rtcp.rc', 'rtcp.sc', 'rtcp.length', 'rtcp.senderssrc',
  'rtcp.timestamp.ntp.msw', 'rtcp.timestamp.ntp.lsw', 'rtcp.timestamp.ntp', 'rtcp.timestamp.rtp',
  'rtcp.sender.packetcount', 'rtcp.sender.octetcount',
  'rtcp.ssrc.identifier', 'rtcp.ssrc.fraction', 'rtcp.ssrc.cum_nr', 'rtcp.ssrc.ext_high', 'rtcp.ssrc.jitter', 'rtcp.ssrc.lsr', 'rtcp.ssrc.dlsr',
  'rtcp.sdes.type', 'rtcp.sdes.length', 'rtcp.sdes.text', 'rtcp.length_check', '_ws.malformed', '_ws.expert.message',
] as const;

type DecodedFrame = Partial<Record<(typeof FIELDS)[number], string[]>>;

const tsharkMissing = spawnSync('tshark', ['--version']).error !== undefined || spawnSync('text2pcap', ['--version']).error !== undefined;

/** text2pcap's input: each packet as offset-prefixed hex lines starting at offset 0. */
function hexDump(packets: readonly Buffer[]): string {
  return packets
    .map((packet) => {
      const lines: string[] = [];
      for (let offset = 0; offset < packet.length; offset += 16) {
        const bytes = [...packet.subarray(offset, offset + 16)].map((byte) => byte.toString(16).padStart(2, '0'));
        lines.push(`${offset.toString(16).padStart(6, '0')} ${bytes.join(' ')}`);
      }
      return lines.join('\n');
    })
    .join('\n\n');
}

function decodeWithTshark(packets: readonly Buffer[]): DecodedFrame[] {
  const workDir = mkdtempSync(join(tmpdir(), 'rtcp-wireshark-'));
  try {
    return decodeIn(workDir, packets);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

function decodeIn(workDir: string, packets: readonly Buffer[]): DecodedFrame[] {
  const dump = join(workDir, 'rtcp.txt');
  const pcap = join(workDir, 'rtcp.pcap');
  writeFileSync(dump, `${hexDump(packets)}\n`);
  const written = spawnSync('text2pcap', ['-q', '-u', `40000,${RTCP_PORT}`, dump, pcap], { encoding: 'utf8' });
  if (written.status !== 0) throw new Error(`text2pcap failed: ${written.stderr}`);
  const decoded = spawnSync('tshark', ['-r', pcap, '-d', `udp.port==${RTCP_PORT},rtcp`, '-T', 'json', ...FIELDS.flatMap((field) => ['-e', field])], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
  });
  if (decoded.status !== 0) throw new Error(`tshark failed: ${decoded.stderr}`);
  return (JSON.parse(decoded.stdout) as { _source: { layers: DecodedFrame } }[]).map((frame) => frame._source.layers);
}

/** tshark's way of showing an absolute UTC time, e.g. "Dec  6, 2026 04:00:03.250000000 UTC". */
function wiresharkUtc(unixMs: number): string {
  const date = new Date(unixMs);
  const month = date.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const time = date.toISOString().slice(11, 23);
  return `${month} ${String(date.getUTCDate()).padStart(2, ' ')}, ${date.getUTCFullYear()} ${time}000000 UTC`;
}

const hex32 = (value: number) => `0x${value.toString(16).padStart(8, '0')}`;

describe('RTCP from RtcpSession, as Wireshark decodes it', () => {
  it.skipIf(tsharkMissing)(
    `reads back every field of our SR, RR, report blocks, SDES CNAME and BYE${tsharkMissing ? ' (skipped: tshark or text2pcap is not installed; scripts/setup.sh --test installs tshark)' : ''}`,
    () => {
      const rtcp = new RtcpSession({ ssrc: OUR_SSRC, cname: 'gw-4f2a@example.test', clockRate: 8000, payloadType: 0, startMs: START_MS, random: () => 0.5 });
      // 2 s of the phone's PCMU from sequence 65500, across the wrap, with 3 packets lost and every odd one 5 ms late.
      const lost = [65530, 65531, 10];
      for (let i = 0; i < 100; i++) {
        const sequenceNumber = (65500 + i) & 0xffff;
        if (!lost.includes(sequenceNumber)) rtcp.rtpReceived({ ssrc: PHONE_SSRC, sequenceNumber, timestamp: 160 * i, payloadType: 0 }, START_MS + 20 * i + (i % 2) * 5);
      }
      // 1 s of ours.
      for (let i = 0; i < 50; i++) rtcp.rtpSent(OUR_SSRC, 1000 + 160 * i, 160, START_MS + 20 * i);
      const phoneNtp = { seconds: 0xedcba987, fraction: 0x12345678 };
      const phoneSr = { ntpSeconds: phoneNtp.seconds, ntpFraction: phoneNtp.fraction, rtpTimestamp: 5, packetCount: 80, octetCount: 12800 };
      rtcp.rtcpReceived(Buffer.concat([writeSenderReport(PHONE_SSRC, phoneSr, []), writeSourceDescription(PHONE_SSRC, 'phone')]), START_MS + 1750);

      const srAt = START_MS + 3250;
      const senderReport = rtcp.reportDue(srAt)!;
      const jitterAtSr = Math.floor((rtcp.stats().received!.jitterMs * 8000) / 1000);
      // 1 s more of the phone, none lost; then a receiver report and the BYE.
      for (let i = 100; i < 150; i++) rtcp.rtpReceived({ ssrc: PHONE_SSRC, sequenceNumber: (65500 + i) & 0xffff, timestamp: 160 * i, payloadType: 0 }, START_MS + 20 * i);
      const rrAt = rtcp.nextReportAtMs;
      const receiverReport = rtcp.reportDue(rrAt)!;
      const jitterAtRr = Math.floor((rtcp.stats().received!.jitterMs * 8000) / 1000);
      const goodbye = rtcp.goodbye(rrAt + 1000, 'call ended');

      const [sr, rr, bye] = decodeWithTshark([senderReport, receiverReport, goodbye]);
      const ntp = ntpFromUnixMs(srAt);
      // 65501 (after probation) to 65599: 99 expected, 3 lost; the highest is 63 after one wrap.
      expect(sr).toEqual({
        'rtcp.version': ['2', '2'],
        'rtcp.padding': ['0', '0'],
        'rtcp.pt': ['200', '202'],
        'rtcp.rc': ['1'],
        'rtcp.sc': ['1'],
        'rtcp.length': ['12', String(senderReport.length / 4 - 13 - 1)],
        'rtcp.senderssrc': [hex32(OUR_SSRC)],
        'rtcp.timestamp.ntp.msw': [String(ntp.seconds)],
        'rtcp.timestamp.ntp.lsw': [String(ntp.fraction)],
        'rtcp.timestamp.ntp': [wiresharkUtc(srAt)],
        // The last packet's timestamp (1000 + 160 × 49) run on by the 2270 ms since it, at 8 kHz.
        'rtcp.timestamp.rtp': [String(1000 + 160 * 49 + 2270 * 8)],
        'rtcp.sender.packetcount': ['50'],
        'rtcp.sender.octetcount': ['8000'],
        'rtcp.ssrc.identifier': [hex32(PHONE_SSRC), hex32(OUR_SSRC)],
        'rtcp.ssrc.fraction': [String(Math.floor((3 * 256) / 99))],
        'rtcp.ssrc.cum_nr': ['3'],
        'rtcp.ssrc.ext_high': [String(0x10000 + 63)],
        'rtcp.ssrc.jitter': [String(jitterAtSr)],
        'rtcp.ssrc.lsr': [String(compactNtp(phoneNtp))],
        'rtcp.ssrc.dlsr': [String(1.5 * 65536)],
        'rtcp.sdes.type': ['1', '0'],
        'rtcp.sdes.length': [String('gw-4f2a@example.test'.length)],
        'rtcp.sdes.text': ['gw-4f2a@example.test'],
        'rtcp.length_check': ['1'],
      });
      expect(jitterAtSr).toBeGreaterThan(0);
      expect(rr).toMatchObject({
        'rtcp.pt': ['201', '202'],
        'rtcp.rc': ['1'],
        'rtcp.length': ['7', String((receiverReport.length - 32) / 4 - 1)],
        'rtcp.senderssrc': [hex32(OUR_SSRC)],
        'rtcp.ssrc.identifier': [hex32(PHONE_SSRC), hex32(OUR_SSRC)],
        'rtcp.ssrc.fraction': ['0'],
        'rtcp.ssrc.cum_nr': ['3'],
        'rtcp.ssrc.ext_high': [String(0x10000 + 113)],
        'rtcp.ssrc.jitter': [String(jitterAtRr)],
        'rtcp.ssrc.lsr': [String(compactNtp(phoneNtp))],
        'rtcp.ssrc.dlsr': [String(Math.round(((rrAt - START_MS - 1750) * 65536) / 1000))],
        'rtcp.sdes.text': ['gw-4f2a@example.test'],
        'rtcp.length_check': ['1'],
      });
      expect(rr).not.toHaveProperty('rtcp.timestamp.ntp.msw');
      // Nothing sent or received since the RR: an RR without blocks, then the CNAME, then the BYE with its reason.
      expect(bye).toMatchObject({
        'rtcp.pt': ['201', '202', '203'],
        'rtcp.rc': ['0'],
        'rtcp.sc': ['1', '1'],
        'rtcp.ssrc.identifier': [hex32(OUR_SSRC), hex32(OUR_SSRC)],
        'rtcp.sdes.text': ['gw-4f2a@example.test', 'call ended'],
        'rtcp.length_check': ['1'],
      });
      for (const frame of [sr, rr, bye]) {
        expect(frame).not.toHaveProperty('_ws.malformed');
        expect(frame).not.toHaveProperty('_ws.expert.message');
      }
    },
  );
});
