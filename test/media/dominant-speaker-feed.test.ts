/**
 * The interim meeting → opus phone path on a real mediasoup worker: two talkers whose
 * packets carry RFC 6464 levels, a phone listening on a PlainTransport; the phone hears
 * whoever the ActiveSpeakerObserver names, as one continuous stream.
 */
import { type Socket, createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIO_LEVEL_URI, withAudioLevelExtension } from '../../src/media/audio-level.js';
import { DominantSpeakerFeed } from '../../src/media/dominant-speaker-feed.js';
import { readRtp } from '../../src/media/phone-rtp-port.js';
import { Room } from '../../src/media/room.js';
import { WorkerPool } from '../../src/media/worker-pool.js';
import { capturedLogger } from '../support/log-capture.js';
import { rtpPacket } from '../support/rtp.js';
import { until } from '../support/until.js';

const OPUS_PT = 100;
const PHONE_PT = 111;
const LOUD = 15;
const QUIET = 127;
/** Speech dips between syllables; mediasoup's observer takes a level that never dips for the noise floor. */
const BETWEEN_SYLLABLES = 90;

let pool: WorkerPool;
const sockets: Socket[] = [];

beforeAll(async () => {
  pool = await WorkerPool.create({ size: 1, rtcMinPort: 41500, rtcMaxPort: 41599 }, capturedLogger().log);
});

afterAll(() => {
  for (const socket of sockets) socket.close();
  pool.close();
});

async function udp(): Promise<Socket> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

const noChannel = { notify: () => undefined, disconnect: () => undefined };

/** A browser-like talker: an opus producer fed with packets whose payload names the talker. */
async function talker(room: Room, name: string, ssrc: number) {
  const member = room.admit({ id: name, displayName: name, kind: 'browser' }, noChannel);
  const transport = await room.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
  member.adopt(transport);
  await member.produce(transport.id, {
    codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: OPUS_PT }],
    headerExtensions: [{ uri: AUDIO_LEVEL_URI, id: 1 }],
    encodings: [{ ssrc }],
  });
  const socket = await udp();
  let sequenceNumber = 0;
  let talking = false;
  const timer = setInterval(() => {
    const packet = rtpPacket({ payloadType: OPUS_PT, sequenceNumber, timestamp: sequenceNumber * 960, ssrc }, Buffer.from(name));
    const level = !talking ? QUIET : sequenceNumber % 10 < 2 ? BETWEEN_SYLLABLES : LOUD;
    sequenceNumber++;
    socket.send(withAudioLevelExtension(packet, 1, level), transport.tuple.localPort, '127.0.0.1');
  }, 20);
  return { talk: (on: boolean) => (talking = on), stop: () => clearInterval(timer) };
}

describe('DominantSpeakerFeed', () => {
  it('forwards the dominant talker to an opus phone and switches when another takes over', { timeout: 30_000 }, async () => {
    const { log } = capturedLogger();
    const room = await Room.create('feed-1', pool.leastLoaded(), { maxParticipants: 10 }, log);
    const phoneSocket = await udp();
    const heard: Array<{ from: string; payloadType: number }> = [];
    phoneSocket.on('message', (packet) => {
      const isRtcp = packet[1]! >= 192 && packet[1]! <= 223; // mediasoup's sender reports share the port
      const view = isRtcp ? undefined : readRtp(packet);
      if (view) heard.push({ from: view.payload.toString(), payloadType: view.payloadType });
    });
    const phone = room.admit({ id: 'phone', displayName: 'Phone', kind: 'phone' }, noChannel);
    phone.rtpCapabilities = {
      codecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: PHONE_PT }],
      headerExtensions: [],
    };
    const transport = await room.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
    phone.adopt(transport);
    await transport.connect({ ip: '127.0.0.1', port: phoneSocket.address().port });
    const feed = new DominantSpeakerFeed(room, phone, transport.id, log);
    const [alice, bob] = [await talker(room, 'alice', 1111), await talker(room, 'bob', 2222)];
    try {
      alice.talk(true);
      await until(() => room.dominantSpeaker?.owner.id === 'alice', 10_000, 'alice dominant');
      await until(() => heard.at(-1)?.from === 'alice', 2000, 'alice heard');

      alice.talk(false);
      bob.talk(true);
      await until(() => room.dominantSpeaker?.owner.id === 'bob', 10_000, 'bob dominant');
      await until(() => heard.at(-1)?.from === 'bob', 2000, 'bob heard after he took over');
      expect(feed.producerId).toBe(room.dominantSpeaker?.producer.id);
      // mediasoup sends the router's payload type; the relay (PhoneRtpPort) maps it for the phone.
      expect(new Set(heard.map((h) => h.payloadType))).toEqual(new Set([OPUS_PT]));
    } finally {
      alice.stop();
      bob.stop();
      feed.close();
      room.close('shutdown');
    }
  });
});
