import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loopbackPlainTransport, PlainTransportFixture } from '../support/media/plain-transport.js';
import { pcmuTone, rtpPacket } from '../support/rtp.js';

describe('a phone-style RTP stream into a real mediasoup worker', () => {
  let fixture: PlainTransportFixture;

  beforeEach(async () => {
    fixture = await PlainTransportFixture.start({ rtcMinPort: 41000, rtcMaxPort: 41099 });
  });

  afterEach(() => fixture.close());

  it('a router offers opus, PCMU and PCMA', async () => {
    const router = await fixture.router();
    const mimeTypes = router.rtpCapabilities.codecs?.map((c) => c.mimeType) ?? [];
    expect(mimeTypes).toEqual(expect.arrayContaining(['audio/opus', 'audio/PCMU', 'audio/PCMA']));
    expect(router.rtpCapabilities.codecs?.find((c) => c.mimeType === 'audio/PCMU')?.preferredPayloadType).toBe(0);
  });

  it('a comedia PlainTransport receives PCMU RTP over UDP and its producer counts the packets', async () => {
    const router = await fixture.router();
    const transport = await loopbackPlainTransport(router, { comedia: true, rtcpMux: true });
    const ssrc = 0x1234abcd;
    const producer = await transport.produce({
      kind: 'audio',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 }],
        encodings: [{ ssrc }],
      },
    });

    const packets = 50;
    for (let i = 0; i < packets; i++) {
      const packet = rtpPacket({ payloadType: 0, sequenceNumber: 1000 + i, timestamp: i * 160, ssrc, marker: i === 0 }, pcmuTone(1000, i));
      fixture.socket.send(packet, transport.tuple.localPort, '127.0.0.1');
      await sleep(2);
    }

    let stats = await producer.getStats();
    for (let i = 0; i < 50 && (stats[0]?.packetCount ?? 0) < packets; i++) {
      await sleep(20);
      stats = await producer.getStats();
    }
    expect(stats[0]?.packetCount).toBe(packets);
    expect(stats[0]?.byteCount).toBe(packets * (12 + 160));
    expect(stats[0]?.mimeType).toBe('audio/PCMU');
    // comedia: the transport learnt our address from the first packet.
    expect(transport.tuple.remotePort).toBe(fixture.socket.address().port);
  });
});
