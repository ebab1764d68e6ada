/**
 * Our SRTP against libsrtp's (mediasoup's worker): a PlainTransport with SDES keys
 * protects what a DirectTransport producer sends and our SrtpSession unprotects it, RTCP
 * included; what our SrtpSession protects, the PlainTransport unprotects and a consumer
 * gets back. Every suite we offer.
 */
import { randomBytes } from 'node:crypto';
import type { types } from 'mediasoup';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRtcp, readRtp } from '../../../src/media/rtp-packet.js';
import { SrtpSession } from '../../../src/media/srtp/srtp-session.js';
import { OFFERED_SUITES, masterKeyLength } from '../../../src/media/srtp/srtp-suites.js';
import { loopbackPlainTransport, PlainTransportFixture } from '../../support/media/plain-transport.js';
import { pcmuTone, rtpPacket } from '../../support/rtp.js';
import { until } from '../../support/until.js';

const PCMU = { mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 } as const;
const PACKETS = 30;

describe.each(OFFERED_SUITES)('SrtpSession with libsrtp, %s', (suite) => {
  let fixture: PlainTransportFixture;
  let router: types.Router;
  let transport: types.PlainTransport;
  let session: SrtpSession;

  beforeEach(async () => {
    fixture = await PlainTransportFixture.start({ rtcMinPort: 41500, rtcMaxPort: 41599 });
    router = await fixture.router();
    transport = await loopbackPlainTransport(router, { rtcpMux: true, enableSrtp: true, srtpCryptoSuite: suite });
    const ourKey = randomBytes(masterKeyLength(suite));
    // The transport sends with its own key and takes ours for what it receives.
    await transport.connect({ ip: '127.0.0.1', port: fixture.socket.address().port, srtpParameters: { cryptoSuite: suite, keyBase64: ourKey.toString('base64') } });
    session = new SrtpSession({ suite, localKey: ourKey, remoteKey: Buffer.from(transport.srtpParameters!.keyBase64, 'base64') });
  });

  afterEach(() => fixture.close());

  it('unprotects the RTP and RTCP libsrtp protects', { timeout: 20_000 }, async () => {
    const source = await router.createDirectTransport();
    const producer = await source.produce({ kind: 'audio', rtpParameters: { codecs: [PCMU], encodings: [{ ssrc: 2222 }] } });
    await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    const payloads: Buffer[] = [];
    let rtcp = 0;
    let refused = 0;
    fixture.socket.on('message', (packet) => {
      const plain = isRtcp(packet) ? session.unprotectRtcp(packet) : session.unprotectRtp(packet);
      if (!plain) return void refused++;
      if (isRtcp(plain)) rtcp++;
      else payloads.push(Buffer.from(readRtp(plain)!.payload));
    });
    const sent = Array.from({ length: PACKETS }, (_, i) => pcmuTone(1000, i));
    for (const [i, payload] of sent.entries()) producer.send(rtpPacket({ payloadType: 0, sequenceNumber: 65_520 + i, timestamp: i * 160, ssrc: 2222 }, payload));
    // Past 65535 too: the rollover counter goes up in step with libsrtp's.
    await until(() => payloads.length === PACKETS, 3000, 'every packet unprotected');
    expect(payloads).toEqual(sent);
    await until(() => rtcp > 0, 15_000, 'an SRTCP report unprotected');
    expect(refused).toBe(0);
  });

  it('protects RTP that libsrtp unprotects', { timeout: 20_000 }, async () => {
    const producer = await transport.produce({ kind: 'audio', rtpParameters: { codecs: [PCMU], encodings: [{ ssrc: 3333 }] } });
    const sink = await router.createDirectTransport();
    const consumer = await sink.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    const received: Buffer[] = [];
    consumer.on('rtp', (packet) => received.push(Buffer.from(readRtp(packet)!.payload)));
    const sent = Array.from({ length: PACKETS }, (_, i) => pcmuTone(600, i));
    for (const [i, payload] of sent.entries()) {
      const packet = session.protectRtp(rtpPacket({ payloadType: 0, sequenceNumber: 65_520 + i, timestamp: i * 160, ssrc: 3333 }, payload))!;
      fixture.socket.send(packet, transport.tuple.localPort, '127.0.0.1');
    }
    await until(() => received.length === PACKETS, 3000, 'every packet at the consumer');
    expect(received).toEqual(sent);
  });
});
