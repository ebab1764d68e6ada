import { describe, expect, it } from 'vitest';
import { readRtcp } from '../../../src/media/rtcp/read-rtcp.js';
import {
  writeGoodbye,
  writeReceiverReport,
  writeSenderReport,
  writeSourceDescription,
  type ReportBlock,
  type RtcpPacket,
} from '../../../src/media/rtcp/rtcp-packet.js';

const hex = (text: string) => Buffer.from(text.replace(/[\s|]/g, ''), 'hex');

const BLOCK: ReportBlock = {
  ssrc: 0xaabbccdd,
  fractionLost: 0x40,
  cumulativeLost: -2,
  extendedHighestSequence: 0x0001000a,
  jitter: 0x15,
  lastSenderReport: 0x12345678,
  delaySinceLastSenderReport: 0x00018000,
};
const BLOCK_BYTES = 'aabbccdd | 40 fffffe | 0001000a | 00000015 | 12345678 | 00018000';

const SENDER = { ntpSeconds: 0xe5f6a7b8, ntpFraction: 0x80000000, rtpTimestamp: 0x12345, packetCount: 100, octetCount: 16000 };

describe('RTCP packet layouts (RFC 3550 §6.4-§6.6), byte for byte', () => {
  it.each<[string, () => Buffer, string]>([
    [
      'an SR with one report block (V=2, RC=1, PT=200, length 12 words - 1)',
      () => writeSenderReport(0x11223344, SENDER, [BLOCK]),
      `81 c8 000c | 11223344 | e5f6a7b8 | 80000000 | 00012345 | 00000064 | 00003e80 | ${BLOCK_BYTES}`,
    ],
    ['an RR with one report block (PT=201)', () => writeReceiverReport(0x11223344, [BLOCK]), `81 c9 0007 | 11223344 | ${BLOCK_BYTES}`],
    ['an RR with no report block (RC=0)', () => writeReceiverReport(0x11223344, []), '80 c9 0001 | 11223344'],
    [
      'an SDES CNAME whose item ends on a word boundary: a whole word of nulls ends the chunk',
      () => writeSourceDescription(0x11223344, 'ab'),
      '81 ca 0003 | 11223344 | 01 02 6162 | 00000000',
    ],
    ['an SDES CNAME padded with nulls to the next word', () => writeSourceDescription(0x11223344, 'abc'), '81 ca 0003 | 11223344 | 01 03 616263 | 000000'],
    ['a BYE without a reason (SC=1, PT=203)', () => writeGoodbye([0x11223344]), '81 cb 0001 | 11223344'],
    ['a BYE whose reason fills the word exactly', () => writeGoodbye([0x11223344], 'bye'), '81 cb 0002 | 11223344 | 03 627965'],
    ['a BYE whose reason is null-padded', () => writeGoodbye([0x11223344], 'done'), '81 cb 0003 | 11223344 | 04 646f6e65 | 000000'],
  ])('writes %s', (_name, write, expected) => {
    expect(write().toString('hex')).toBe(hex(expected).toString('hex'));
  });

  it('saturates a cumulative loss beyond 24 signed bits instead of wrapping it', () => {
    const high = writeReceiverReport(1, [{ ...BLOCK, cumulativeLost: 0x1000000 }]);
    const low = writeReceiverReport(1, [{ ...BLOCK, cumulativeLost: -0x1000000 }]);
    expect(high.subarray(13, 16).toString('hex')).toBe('7fffff');
    expect(low.subarray(13, 16).toString('hex')).toBe('800000');
  });

  it('refuses a CNAME longer than an SDES item can say (255 bytes)', () => {
    expect(() => writeSourceDescription(1, 'x'.repeat(256))).toThrow('an RTCP CNAME is at most 255 bytes of UTF-8, not 256');
  });
});

describe('readRtcp', () => {
  it('reads back a compound SR + SDES + BYE as written', () => {
    const compound = Buffer.concat([
      writeSenderReport(0x11223344, SENDER, [BLOCK]),
      writeSourceDescription(0x11223344, 'phone@example.test'),
      writeGoodbye([0x11223344, 0x55667788], 'hangup'),
    ]);
    expect(readRtcp(compound)).toEqual({
      ok: true,
      packets: [
        { type: 'sender-report', ssrc: 0x11223344, sender: SENDER, reports: [BLOCK] },
        { type: 'source-description', chunks: [{ ssrc: 0x11223344, items: [{ type: 1, text: 'phone@example.test' }] }] },
        { type: 'goodbye', ssrcs: [0x11223344, 0x55667788], reason: 'hangup' },
      ] satisfies RtcpPacket[],
    });
  });

  it('reads an SDES packet with two chunks and several items, and a BYE without a reason', () => {
    // Chunk 1: CNAME "a", NAME "bc", end; chunk 2: CNAME "xyz", end. Then BYE with SC=0.
    const compound = hex('82 ca 0006 | 00000001 | 01 01 61 02 02 6263 00 | 00000002 | 01 03 78797a 00 0000 | 80 cb 0000');
    expect(readRtcp(compound)).toEqual({
      ok: true,
      packets: [
        {
          type: 'source-description',
          chunks: [
            { ssrc: 1, items: [{ type: 1, text: 'a' }, { type: 2, text: 'bc' }] },
            { ssrc: 2, items: [{ type: 1, text: 'xyz' }] },
          ],
        },
        { type: 'goodbye', ssrcs: [] },
      ],
    });
  });

  it('skips packet types it does not use (APP, feedback, XR) whole and reads on', () => {
    const app = hex('80 cc 0002 | 11223344 | 74657374'); // APP "test", no data
    const feedback = hex('81 cd 0003 | 11223344 | aabbccdd | 00010000'); // RTPFB generic NACK
    const compound = Buffer.concat([writeReceiverReport(7, []), app, feedback, writeSourceDescription(7, 'c')]);
    const result = readRtcp(compound);
    expect(result.ok && result.packets.map((packet) => packet.type)).toEqual(['receiver-report', 'other', 'other', 'source-description']);
    expect(result.ok && result.packets[1]).toEqual({ type: 'other', packetType: 204, bytes: 12 });
    expect(result.ok && result.packets[2]).toEqual({ type: 'other', packetType: 205, bytes: 16 });
  });

  it('ignores a profile-specific extension after the report blocks and padding on the last packet', () => {
    const withExtension = hex(`81 c9 0008 | 11223344 | ${BLOCK_BYTES} | deadbeef`);
    const padded = hex('a0 c9 0002 | 11223344 | 00000004'); // RR, RC=0, 4 octets of padding
    const result = readRtcp(Buffer.concat([withExtension, padded]));
    expect(result).toEqual({
      ok: true,
      packets: [
        { type: 'receiver-report', ssrc: 0x11223344, reports: [BLOCK] },
        { type: 'receiver-report', ssrc: 0x11223344, reports: [] },
      ],
    });
  });

  it.each<[string, string, string]>([
    ['an empty packet', '', 'RTCP packet is empty'],
    ['a length that is not whole words', '80 c9 0001 | 112233', 'RTCP compound packet is 7 bytes, not a multiple of 4'],
    ['an RTP packet (payload type 0, marker set: byte 2 is 0x80)', '80 80 0001 | 11223344', 'RTCP packet 1 has packet type 128, outside RTCP\'s 192-223'],
    ['RTP version 1', '40 c9 0001 | 11223344', 'RTCP packet 1 has RTP version 1, not 2'],
    ['a length beyond the datagram', '80 c9 0002 | 11223344', 'RTCP packet 1 (type 201) says it is 12 bytes but 8 are left'],
    ['a second packet cut short', '80 c9 0001 | 11223344 | 81 ca 0003 | 00000001', 'RTCP packet 2 (type 202) says it is 16 bytes but 8 are left'],
    ['an RR whose report count needs more blocks than it holds', '81 c9 0001 | 11223344', 'RTCP packet 1 (type 201, 4-byte body) is too short for an SSRC and 1 report blocks (28 bytes)'],
    ['an SR without its sender info', '80 c8 0001 | 11223344', 'RTCP packet 1 (type 200, 4-byte body) is too short for sender info and 0 report blocks (24 bytes)'],
    ['padding on a packet that is not the last', 'a0 c9 0002 | 11223344 | 00000004 | 80 c9 0001 | 11223344', 'RTCP packet 1 (type 201) is padded but is not the last in the compound packet'],
    ['a padding count of 0', 'a0 c9 0001 | 11223300', 'RTCP packet 1 (type 201) has a padding count of 0 in 8 bytes'],
    ['a padding count beyond the body', 'a0 c9 0001 | 11223309', 'RTCP packet 1 (type 201) has a padding count of 9 in 8 bytes'],
    ['an SDES item longer than its chunk', '81 ca 0002 | 00000001 | 01 09 6162', 'RTCP packet 1 (type 202, 8-byte body) is too short for an item of type 1 in chunk 1 (15 bytes)'],
    ['an SDES chunk without its null terminator', '81 ca 0002 | 00000001 | 01 02 6162', 'RTCP packet 1 (type 202, 8-byte body) is too short for the items of chunk 1 (9 bytes)'],
    ['an SDES count beyond its chunks', '82 ca 0002 | 00000001 | 01 01 61 00', 'RTCP packet 1 (type 202, 8-byte body) is too short for the SSRC of chunk 2 (12 bytes)'],
    ['a BYE count beyond its SSRCs', '82 cb 0001 | 11223344', 'RTCP packet 1 (type 203, 4-byte body) is too short for 2 SSRCs (8 bytes)'],
    ['a BYE reason longer than the packet', '81 cb 0002 | 11223344 | 08 627965', 'RTCP packet 1 (type 203, 8-byte body) is too short for a 8-byte reason (13 bytes)'],
  ])('answers %s with an error that says what is wrong', (_name, bytes, error) => {
    expect(readRtcp(hex(bytes))).toEqual({ ok: false, error });
  });

  it('never throws on random bytes, truncations or flipped bits of a valid compound packet', () => {
    const valid = Buffer.concat([
      writeSenderReport(0x11223344, SENDER, [BLOCK]),
      writeSourceDescription(0x11223344, 'phone@example.test'),
      writeGoodbye([0x11223344], 'hangup'),
    ]);
    // A fixed-seed generator, so a failure can be replayed.
    let seed = 12345;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const inputs: Buffer[] = [];
    for (let length = 0; length <= valid.length; length++) inputs.push(valid.subarray(0, length));
    for (let i = 0; i < 3000; i++) {
      const mutated = Buffer.from(valid);
      for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) {
        const at = Math.floor(random() * mutated.length);
        mutated[at] = mutated[at]! ^ (1 << Math.floor(random() * 8));
      }
      inputs.push(mutated);
      inputs.push(Buffer.from(Array.from({ length: 4 * Math.floor(random() * 20) }, (_, index) => (index % 4 === 0 ? 0x80 | Math.floor(random() * 64) : Math.floor(random() * 256)))));
    }
    const outcomes = { ok: 0, error: 0 };
    for (const input of inputs) {
      const result = readRtcp(input);
      if (result.ok) outcomes.ok++;
      else {
        expect(result.error).toMatch(/^RTCP /);
        outcomes.error++;
      }
    }
    // Both kinds occur, so the inputs exercise the checks and the readers.
    expect(outcomes.ok).toBeGreaterThan(100);
    expect(outcomes.error).toBeGreaterThan(100);
  });
});
