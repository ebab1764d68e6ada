/**
 * Can the caller's RFC 4733 telephone-events be read on the Node side through mediasoup
 * 3.27? What the worker does with them, and the two paths that do deliver them:
 *
 * - mediasoup accepts telephone-event as a router codec and as a producer's second codec,
 *   and its producer takes the packets in, but no consumer sends them on: consumers
 *   forward media codecs only (worker/src/RTC/Consumer.cpp fills
 *   supportedCodecPayloadTypes from `IsMediaCodec()`; telephone-event and CN are
 *   "complementary" codecs). Producer 'rtp' traces see the packets, without payloads.
 * - Declared as a media codec no browser has (SILK/8000), the events pass to a
 *   DirectTransport consumer. A workaround that lies to mediasoup, and only for 8 kHz:
 *   no such codec runs at 48 kHz, the telephone-event clock beside opus. Unsafe as well:
 *   in 3.27 (not in 3.13) a consumer without the alias forwards the events too, as type 101,
 *   so browsers would get them in their audio stream.
 * - Read before mediasoup: the phone-facing RTP port taps the events and relays the
 *   audio. Works for every clock rate; this is the path src/media/phone-media.ts takes.
 */
import { createSocket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import type { types } from 'mediasoup';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROUTER_CODECS } from '../../src/media/codecs/router-codecs.js';
import { PhoneRtpPort } from '../../src/media/phone-rtp-port.js';
import { readRtp } from '../../src/media/rtp-packet.js';
import { type DecodedDigit, TelephoneEventDecoder } from '../../src/sip/dtmf/telephone-event-decoder.js';
import { loopbackPlainTransport, PlainTransportFixture } from '../support/media/plain-transport.js';
import { pcmuTone, rtpPacket } from '../support/rtp.js';
import { keyPress } from '../sip/dtmf/telephone-events.js';

const PCMU = { mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 } as const;
const TELEPHONE_EVENT_PT = 101;
const SSRC = 0x1234abcd;
const CLOCK_RATE = 8000;

interface PhonePacket {
  readonly payloadType: number;
  readonly timestamp: number;
  readonly marker: boolean;
  readonly payload: Buffer;
}

/** A phone's stream: 100 ms of PCMU around each key press, no audio during a press. */
function callWithKeys(events: readonly number[]): PhonePacket[] {
  const packets: PhonePacket[] = [];
  let timestamp = 0;
  const audio = () => {
    for (let i = 0; i < 5; i++, timestamp += 160) {
      packets.push({ payloadType: PCMU.payloadType, timestamp, marker: false, payload: pcmuTone(440, timestamp / 160) });
    }
  };
  audio();
  for (const event of events) {
    packets.push(...keyPress(event, timestamp, 800).map((p) => ({ ...p, payloadType: TELEPHONE_EVENT_PT })));
    timestamp += 800;
    audio();
  }
  return packets;
}

const KEYS = [1, 1, 11]; // "1", "1" again, "#"
const EXPECTED_DIGITS: DecodedDigit[] = [
  { digit: '1', durationMs: 100 },
  { digit: '1', durationMs: 100 },
  { digit: '#', durationMs: 100 },
];
const AUDIO_PACKETS = 5 * (KEYS.length + 1);
const EVENT_PACKETS = callWithKeys(KEYS).length - AUDIO_PACKETS;

async function eventually(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100 && !(await condition()); i++) await sleep(20);
}

const packetCount = async (producer: types.Producer) => (await producer.getStats())[0]?.packetCount ?? 0;

describe('RFC 4733 telephone-events and mediasoup 3.27', () => {
  let fixture: PlainTransportFixture;

  beforeEach(async () => {
    fixture = await PlainTransportFixture.start({ rtcMinPort: 41200, rtcMaxPort: 41299 });
  });

  afterEach(() => fixture.close());

  async function sendCall(port: number): Promise<void> {
    let sequenceNumber = 1000;
    for (const { payloadType, timestamp, marker, payload } of callWithKeys(KEYS)) {
      fixture.socket.send(rtpPacket({ payloadType, sequenceNumber: sequenceNumber++, timestamp, ssrc: SSRC, marker }, payload), port, '127.0.0.1');
      await sleep(2);
    }
  }

  async function phoneProducer(mediaCodecs: types.RouterRtpCodecCapability[], codecs: types.RtpCodecParameters[]) {
    const router = await fixture.router(mediaCodecs);
    const transport = await loopbackPlainTransport(router, { comedia: true, rtcpMux: true });
    const producer = await transport.produce({ kind: 'audio', rtpParameters: { codecs, encodings: [{ ssrc: SSRC }] } });
    return { router, transport, producer };
  }

  it('a router accepts telephone-event; a producer may declare it only when its router has it', async () => {
    const telephoneEvent: types.RouterRtpCodecCapability = { kind: 'audio', mimeType: 'audio/telephone-event', clockRate: 8000 };
    const router = await fixture.router([...ROUTER_CODECS, telephoneEvent]);
    expect(router.rtpCapabilities.codecs?.map((c) => `${c.mimeType}/${c.clockRate}`)).toContain('audio/telephone-event/8000');

    const plain = await fixture.router();
    const transport = await loopbackPlainTransport(plain, { comedia: true });
    await expect(
      transport.produce({
        kind: 'audio',
        rtpParameters: { codecs: [PCMU, { mimeType: 'audio/telephone-event', clockRate: 8000, payloadType: TELEPHONE_EVENT_PT }], encodings: [{ ssrc: SSRC }] },
      }),
    ).rejects.toThrow(/unsupported codec \[mimeType:audio\/telephone-event/);
  });

  it('the producer takes the events in, but no consumer sends them on: consumers forward media codecs only', async () => {
    const { router, transport, producer } = await phoneProducer(
      [...ROUTER_CODECS, { kind: 'audio', mimeType: 'audio/telephone-event', clockRate: 8000 }],
      [PCMU, { mimeType: 'audio/telephone-event', clockRate: 8000, payloadType: TELEPHONE_EVENT_PT }],
    );
    const traced: Array<{ payloadType: number; payloadSize: bigint }> = [];
    await producer.enableTraceEvent(['rtp']);
    producer.on('trace', (trace) => traced.push((trace.info as { rtpPacket: { payloadType: number; payloadSize: bigint } }).rtpPacket));
    const direct = await router.createDirectTransport();
    const consumer = await direct.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    const forwarded: number[] = [];
    consumer.on('rtp', (packet: Buffer) => forwarded.push(readRtp(packet)!.payloadType));

    await sendCall(transport.tuple.localPort);
    await eventually(async () => (await packetCount(producer)) === AUDIO_PACKETS + EVENT_PACKETS && forwarded.length === AUDIO_PACKETS);
    await sleep(50); // room for any late event packet to show up

    // The consumer is set up to carry telephone-event, and the worker still will not.
    expect(consumer.rtpParameters.codecs.map((c) => c.mimeType)).toEqual(['audio/PCMU', 'audio/telephone-event']);
    expect((await consumer.dump()).supportedCodecPayloadTypes).toEqual([0]);
    expect(await packetCount(producer)).toBe(AUDIO_PACKETS + EVENT_PACKETS);
    expect(forwarded).toEqual(Array(AUDIO_PACKETS).fill(0));
    // Traces show that events arrived, but not which key: they carry no payload.
    const tracedEvents = traced.filter((p) => p.payloadType === TELEPHONE_EVENT_PT);
    expect(tracedEvents).toHaveLength(EVENT_PACKETS);
    expect(tracedEvents[0]).toMatchObject({ payloadSize: 4n });
    expect(tracedEvents[0]).not.toHaveProperty('payload');
  });

  it('declared as SILK/8000, a codec no browser has, the events reach a DirectTransport consumer and decode, and leak to consumers without it', async () => {
    const { router, transport, producer } = await phoneProducer(
      [...ROUTER_CODECS, { kind: 'audio', mimeType: 'audio/SILK', clockRate: 8000 }],
      [PCMU, { mimeType: 'audio/SILK', clockRate: 8000, payloadType: TELEPHONE_EVENT_PT }],
    );
    const alias = router.rtpCapabilities.codecs!.find((c) => c.mimeType === 'audio/SILK')!;
    const direct = await router.createDirectTransport();
    // Offered only the alias, this consumer gets the events and none of the audio.
    const events = await direct.consume({ producerId: producer.id, rtpCapabilities: { codecs: [alias], headerExtensions: [] } });
    // Browsers never offer SILK; their consumers get the audio, and the events with the phone's payload type.
    const browserCodecs = router.rtpCapabilities.codecs!.filter((c) => c !== alias);
    const browser = await direct.consume({ producerId: producer.id, rtpCapabilities: { codecs: browserCodecs, headerExtensions: [] } });
    const digits: DecodedDigit[] = [];
    const decoder = new TelephoneEventDecoder(CLOCK_RATE, (digit) => digits.push(digit));
    const eventPayloadTypes = new Set<number>();
    events.on('rtp', (packet: Buffer) => {
      const view = readRtp(packet)!;
      eventPayloadTypes.add(view.payloadType);
      decoder.push(view);
    });
    const browserPayloadTypes: number[] = [];
    browser.on('rtp', (packet: Buffer) => browserPayloadTypes.push(readRtp(packet)!.payloadType));

    await sendCall(transport.tuple.localPort);
    const audioPackets = () => browserPayloadTypes.filter((pt) => pt === PCMU.payloadType).length;
    await eventually(() => digits.length === EXPECTED_DIGITS.length && audioPackets() === AUDIO_PACKETS);

    expect(digits).toEqual(EXPECTED_DIGITS);
    expect([...eventPayloadTypes]).toEqual([alias.preferredPayloadType]); // rewritten from 101
    expect(new Set(browserPayloadTypes)).toEqual(new Set([PCMU.payloadType, TELEPHONE_EVENT_PT]));
  });

  it('read before mediasoup: the phone RTP port taps the events and relays the audio', async () => {
    const router = await fixture.router();
    const transport = await loopbackPlainTransport(router, { comedia: false, rtcpMux: true });
    const producer = await transport.produce({ kind: 'audio', rtpParameters: { codecs: [PCMU], encodings: [{ ssrc: SSRC }] } });
    const port = await PhoneRtpPort.open({ listenIp: '127.0.0.1', minPort: 41300, maxPort: 41399, producerSsrc: SSRC, latch: true });
    const meetingSocket = createSocket('udp4');
    try {
      // The meeting's socket, connected to the transport, as a media thread has one.
      await new Promise<void>((resolve) => meetingSocket.bind(0, '127.0.0.1', () => meetingSocket.connect(transport.tuple.localPort, '127.0.0.1', resolve)));
      await transport.connect({ ip: '127.0.0.1', port: meetingSocket.address().port });
      port.relayThrough(meetingSocket);
      // As while a browser consumes the phone.
      port.relay(true);
      const digits: DecodedDigit[] = [];
      const decoder = new TelephoneEventDecoder(CLOCK_RATE, (digit) => digits.push(digit));
      port.tap(TELEPHONE_EVENT_PT, (packet) => decoder.push(packet));

      await sendCall(port.port);
      await eventually(async () => digits.length === EXPECTED_DIGITS.length && (await packetCount(producer)) === AUDIO_PACKETS);

      expect(digits).toEqual(EXPECTED_DIGITS);
      expect(await packetCount(producer)).toBe(AUDIO_PACKETS);
    } finally {
      port.close();
      meetingSocket.close();
    }
  });
});
