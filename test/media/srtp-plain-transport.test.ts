/**
 * SRTP with SDES keys on PlainTransports, through the worker's SRTP (the libsrtp 3 layer
 * over Debian's libsrtp 2 in the offline build): one transport protects, a UDP relay in
 * the middle sees only ciphertext, the other transport unprotects, and a DirectTransport
 * consumer gets the original payload back. A wrong key lets nothing through.
 */
import type { types } from 'mediasoup';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readRtp } from '../../src/media/rtp-packet.js';
import { loopbackPlainTransport, PlainTransportFixture } from '../support/media/plain-transport.js';
import { pcmuTone, rtpPacket } from '../support/rtp.js';
import { until } from '../support/until.js';

const PCMU = { mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 } as const;
const PACKETS = 30;

/** Bytes SRTP adds to each RTP packet: the authentication tag. */
const TAG_BYTES: Record<string, number> = { AES_CM_128_HMAC_SHA1_80: 10, AEAD_AES_256_GCM: 16 };

describe.each(['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_256_GCM'] as const)('SRTP over PlainTransports with %s', (suite) => {
  let fixture: PlainTransportFixture;

  beforeEach(async () => {
    fixture = await PlainTransportFixture.start({ rtcMinPort: 41400, rtcMaxPort: 41499 });
  });

  afterEach(() => fixture.close());

  /** Source → protecting PlainTransport → relay → unprotecting PlainTransport → sink; returns what passed each point. */
  async function srtpPath(options: { wrongKey: boolean }) {
    const router = await fixture.router();
    const srtp = { rtcpMux: true, enableSrtp: true, srtpCryptoSuite: suite } as const;
    const protecting = await loopbackPlainTransport(router, srtp);
    const unprotecting = await loopbackPlainTransport(router, srtp);
    const stranger = await loopbackPlainTransport(router, srtp);
    const relay = fixture.socket;
    const relayPort = relay.address().port;
    await protecting.connect({ ip: '127.0.0.1', port: relayPort, srtpParameters: unprotecting.srtpParameters! });
    await unprotecting.connect({
      ip: '127.0.0.1',
      port: relayPort,
      srtpParameters: options.wrongKey ? stranger.srtpParameters! : protecting.srtpParameters!,
    });

    const source = await router.createDirectTransport();
    const sourceProducer = await source.produce({ kind: 'audio', rtpParameters: { codecs: [PCMU], encodings: [{ ssrc: 1111 }] } });
    const outgoing = await protecting.consume({ producerId: sourceProducer.id, rtpCapabilities: router.rtpCapabilities });

    const onTheWire: Buffer[] = [];
    relay.on('message', (packet) => {
      onTheWire.push(packet);
      relay.send(packet, unprotecting.tuple.localPort, '127.0.0.1');
    });

    const incoming = await unprotecting.produce({ kind: 'audio', rtpParameters: outgoing.rtpParameters });
    const sink = await router.createDirectTransport();
    const sinkConsumer = await sink.consume({ producerId: incoming.id, rtpCapabilities: router.rtpCapabilities });
    const received: Buffer[] = [];
    sinkConsumer.on('rtp', (packet) => received.push(packet));

    const payloads = Array.from({ length: PACKETS }, (_, i) => pcmuTone(1000, i));
    for (const [i, payload] of payloads.entries()) {
      sourceProducer.send(rtpPacket({ payloadType: 0, sequenceNumber: 100 + i, timestamp: i * 160, ssrc: 1111 }, payload));
    }
    return { payloads, onTheWire, received, incoming: incoming as types.Producer };
  }

  it('carries every payload through, encrypted on the wire', async () => {
    const { payloads, onTheWire, received } = await srtpPath({ wrongKey: false });
    await until(() => received.length === PACKETS, 3000, 'every packet at the sink');
    expect(received.map((packet) => Buffer.from(readRtp(packet)!.payload))).toEqual(payloads);

    const wireRtp = onTheWire.filter((packet) => (packet[1]! & 0x7f) === 0);
    expect(wireRtp.length).toBeGreaterThanOrEqual(PACKETS);
    for (const [i, packet] of wireRtp.slice(0, PACKETS).entries()) {
      expect(packet.length - TAG_BYTES[suite]!).toBe(readRtpHeaderLength(packet) + payloads[i]!.length);
      expect(packet.includes(payloads[i]!.subarray(0, 32))).toBe(false);
    }
  });

  it('lets nothing through with the wrong key', async () => {
    const { onTheWire, received, incoming } = await srtpPath({ wrongKey: true });
    await until(() => onTheWire.length >= PACKETS, 3000, 'the packets on the wire');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toEqual([]);
    expect((await incoming.getStats())[0]?.packetCount ?? 0).toBe(0);
  });
});

/** 12 bytes, the CSRCs and the header extension, if any. */
function readRtpHeaderLength(packet: Buffer): number {
  let length = 12 + (packet[0]! & 0x0f) * 4;
  if (packet[0]! & 0x10) length += 4 + packet.readUInt16BE(length + 2) * 4;
  return length;
}
