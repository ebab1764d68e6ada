import { describe, expect, it } from 'vitest';
import { ContinuousRtpStream } from '../../src/media/continuous-rtp-stream.js';
import { readRtp } from '../../src/media/rtp-packet.js';
import { rtpPacket } from '../support/rtp.js';

const OUT_SSRC = 0xabcdef;
const PHONE_PT = 111;

function sent(stream: ContinuousRtpStream, ssrc: number, sequenceNumber: number, timestamp: number) {
  const packet = rtpPacket({ payloadType: 100, sequenceNumber, timestamp, ssrc }, Buffer.from([0xf8]));
  stream.rewrite(packet);
  return { ...readRtp(packet)!, ssrc: packet.readUInt32BE(8) };
}

describe('ContinuousRtpStream', () => {
  it('gives every packet one SSRC and the phone\'s payload type', () => {
    const stream = new ContinuousRtpStream(OUT_SSRC, PHONE_PT, 48000, () => 0);
    const packet = sent(stream, 1, 500, 9000);
    expect(packet).toMatchObject({ ssrc: OUT_SSRC, payloadType: PHONE_PT, sequenceNumber: 500, timestamp: 9000 });
  });

  it('continues sequence numbers and timestamps when the source changes, by the time that passed', () => {
    let now = 0;
    const stream = new ContinuousRtpStream(OUT_SSRC, PHONE_PT, 48000, () => now);
    for (let i = 0; i < 3; i++, now += 20) sent(stream, 1, 65534 + i, 4294966000 + 960 * i);
    now += 40; // 60 ms after the last packet of the first source
    const switched = sent(stream, 2, 100, 77);
    expect(switched.sequenceNumber).toBe(1); // 65534, 65535, 0, then 1
    expect(switched.timestamp).toBe((4294966000 + 960 * 2 + 48 * 60) >>> 0);
    expect(switched.marker).toBe(true);
    now += 20;
    expect(sent(stream, 2, 101, 77 + 960)).toMatchObject({ sequenceNumber: 2, timestamp: (switched.timestamp + 960) >>> 0, marker: false });
  });

  it('does not move the continuation point back for a late packet', () => {
    let now = 0;
    const stream = new ContinuousRtpStream(OUT_SSRC, PHONE_PT, 8000, () => now);
    sent(stream, 1, 10, 1600);
    sent(stream, 1, 12, 1920);
    expect(sent(stream, 1, 11, 1760).sequenceNumber).toBe(11);
    now += 20;
    expect(sent(stream, 2, 900, 5).sequenceNumber).toBe(13);
  });
});
