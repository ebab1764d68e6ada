import { createSocket, type Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROUTER_CODECS } from '../../src/media/codecs/router-codecs.js';
import { WorkerPool } from '../../src/media/worker-pool.js';
import { capturedLogger } from '../support/log-capture.js';
import { pcmuTone, rtpPacket } from '../support/rtp.js';

describe('a phone-style RTP stream into a real mediasoup worker', () => {
  let pool: WorkerPool;
  let socket: Socket;

  beforeEach(async () => {
    pool = await WorkerPool.create({ size: 1, rtcMinPort: 41000, rtcMaxPort: 41099 }, capturedLogger().log);
    socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  });

  afterEach(async () => {
    pool.close();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  });

  it('a router offers opus, PCMU and PCMA', async () => {
    const router = await pool.leastLoaded().createRouter({ mediaCodecs: ROUTER_CODECS });
    const mimeTypes = router.rtpCapabilities.codecs?.map((c) => c.mimeType) ?? [];
    expect(mimeTypes).toEqual(expect.arrayContaining(['audio/opus', 'audio/PCMU', 'audio/PCMA']));
    expect(router.rtpCapabilities.codecs?.find((c) => c.mimeType === 'audio/PCMU')?.preferredPayloadType).toBe(0);
  });

  it('a comedia PlainTransport receives PCMU RTP over UDP and its producer counts the packets', async () => {
    const router = await pool.leastLoaded().createRouter({ mediaCodecs: ROUTER_CODECS });
    const transport = await router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
      comedia: true,
      rtcpMux: true,
    });
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
      socket.send(packet, transport.tuple.localPort, '127.0.0.1');
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
    expect(transport.tuple.remotePort).toBe((socket.address()).port);
  });
});
