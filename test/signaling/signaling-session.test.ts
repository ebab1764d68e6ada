/**
 * The signaling WebSocket on the gateway's app over real mediasoup workers and rooms, with
 * a memory store: no SIP, no page build.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { MediaPlane } from '../../src/media/plane/media-plane.js';
import { Rooms } from '../../src/media/rooms.js';
import { WorkerPool } from '../../src/media/worker-pool.js';
import { memoryApp } from '../support/app.js';
import { capturedLogger } from '../support/log-capture.js';
import { SignalingTestClient } from '../support/signaling-client.js';
import { until } from '../support/until.js';

const capture = capturedLogger();
const services = memoryApp({ MAX_PARTICIPANTS: '3', EMPTY_ROOM_GRACE_SECONDS: '1' }, capture.log);
const { config, store, meetings } = services;
let workers: WorkerPool;
let plane: MediaPlane;
let rooms: Rooms;
let app: FastifyInstance;
let url: string;
const clients: SignalingTestClient[] = [];

beforeAll(async () => {
  workers = await WorkerPool.create({ size: 1, rtcMinPort: config.rtpMinPort, rtcMaxPort: config.rtpMaxPort }, capture.log);
  plane = MediaPlane.create({ threads: 1 }, capture.log);
  rooms = new Rooms(
    workers,
    store,
    { maxParticipants: config.maxParticipants, mixer: { talkers: config.mixerTalkers, plane }, emptyGraceMs: config.emptyRoomGraceMs, nodeId: 'test-node' },
    capture.log,
  );
  meetings.onEnd((meetingId) => rooms.close(meetingId, 'meeting-ended'));
  app = await buildApp({ ...services.deps, signaling: { ...services.deps.signaling, rooms } });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
afterAll(async () => {
  await app.close();
  await rooms.closeAll('shutdown');
  workers.close();
  await plane.close();
});

async function meeting(id: string): Promise<string> {
  await meetings.create({ id });
  return id;
}

async function connect(meetingId: string): Promise<SignalingTestClient> {
  const client = await SignalingTestClient.connect(`${url.replace('http', 'ws')}/ws/meetings/${meetingId}`);
  clients.push(client);
  return client;
}

async function joined(meetingId: string, displayName: string) {
  const client = await connect(meetingId);
  const { rtpCapabilities } = await client.request('getRouterRtpCapabilities', {});
  const join = await client.request('join', { displayName, rtpCapabilities });
  return { client, join, rtpCapabilities };
}

const opusParameters = (ssrc: number) => ({
  codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] }],
  encodings: [{ ssrc }],
  headerExtensions: [],
  rtcp: { cname: `c${ssrc}`, reducedSize: true },
});

describe('signaling refusals', () => {
  it('closes the socket with 4404 and a reason for an unknown meeting', async () => {
    const client = await connect('no-such-meeting');
    expect(await client.closed).toEqual({ code: 4404, reason: 'meeting "no-such-meeting" does not exist' });
  });

  it('closes the socket with 4404 for an id that cannot be a meeting', async () => {
    const client = await connect('x');
    expect((await client.closed).code).toBe(4404);
  });

  it('closes the socket with 4410 for an ended meeting, which cannot be re-joined', async () => {
    await meeting('ended-1');
    await meetings.end('ended-1');
    const client = await connect('ended-1');
    expect(await client.closed).toEqual({ code: 4410, reason: 'meeting "ended-1" has ended' });
  });

  it('refuses a join beyond the participant cap with busy and close code 4409', async () => {
    const id = await meeting('capped-1');
    for (const name of ['a', 'b', 'c']) await joined(id, name);
    const extra = await connect(id);
    const { rtpCapabilities } = await extra.request('getRouterRtpCapabilities', {});
    const reply = await extra.call('join', { displayName: 'd', rtpCapabilities });
    expect(reply).toMatchObject({ ok: false, error: { code: 'busy', message: 'meeting "capped-1" is full (3 participants)' } });
    expect((await extra.closed).code).toBe(4409);
  });
});

describe('malformed and out-of-order messages', () => {
  it('answers each with an error reply and keeps the connection usable', async () => {
    const id = await meeting('malformed-1');
    const client = await connect(id);

    client.sendRaw('{not json');
    client.sendRaw(JSON.stringify([1, 2]));
    client.sendRaw(JSON.stringify({ v: 2, id: 700, method: 'join', data: {} }));
    client.sendRaw(JSON.stringify({ v: 1, id: -1, method: 'join', data: {} }));
    client.sendRaw(Buffer.from([0, 1, 2]));
    await client.until(() => (client.replies.length >= 5 ? true : undefined));
    expect(client.replies.map((r) => [r.id, r.error?.message])).toEqual([
      [null, 'message is not valid JSON'],
      [null, 'message must be a JSON object'],
      [700, 'unsupported protocol version 2; this server speaks 1'],
      [null, '"id" must be a non-negative integer'],
      [null, 'binary frames are not part of the protocol'],
    ]);

    expect(await client.call('explode' as never, {})).toMatchObject({ ok: false, error: { code: 'bad_request', message: 'unknown method "explode"' } });
    expect(await client.call('createTransport', { direction: 'send' })).toMatchObject({ ok: false, error: { message: 'join the meeting first' } });
    expect(await client.call('createTransport', { direction: 'sideways' } as never)).toMatchObject({ error: { message: '"direction" must be "send" or "recv"' } });
    expect(await client.call('join', { displayName: '', rtpCapabilities: { codecs: [] } })).toMatchObject({ error: { message: '"displayName" must be 1 to 64 printable characters' } });
    expect(await client.call('join', { displayName: 'x' } as never)).toMatchObject({ error: { message: '"rtpCapabilities" must be an object' } });
    expect(await client.call('mute', { muted: 'yes' } as never)).toMatchObject({ error: { message: '"muted" must be true or false' } });

    const { rtpCapabilities } = await client.request('getRouterRtpCapabilities', {});
    const join = await client.request('join', { displayName: 'Still here', rtpCapabilities });
    expect(join.participantId).toMatch(/^[0-9a-f-]{36}$/);

    expect(await client.call('join', { displayName: 'again', rtpCapabilities })).toMatchObject({ error: { code: 'conflict', message: 'already joined' } });
    expect(await client.call('connectTransport', { transportId: 'nope', dtlsParameters: { fingerprints: [] } } as never)).toMatchObject({
      error: { code: 'not_found', message: 'no transport "nope"' },
    });
    const transport = await client.request('createTransport', { direction: 'send' });
    expect(await client.call('produce', { transportId: transport.transportId, kind: 'video', rtpParameters: { codecs: [] } } as never)).toMatchObject({
      error: { message: '"kind" must be "audio" (this gateway carries audio only)' },
    });
    expect(await client.call('produce', { transportId: transport.transportId, kind: 'audio', rtpParameters: { codecs: [{ mimeType: 'audio/nope' }] } } as never)).toMatchObject({
      ok: false,
      error: { code: 'bad_request', message: expect.stringMatching(/^invalid rtpParameters: /) },
    });
    expect(await client.call('connectTransport', { transportId: transport.transportId, dtlsParameters: { fingerprints: [] } } as never)).toMatchObject({
      ok: false,
      error: { code: 'bad_request', message: expect.stringMatching(/^invalid dtlsParameters: /) },
    });
    expect(await client.call('consume', { transportId: transport.transportId, producerId: 'missing' })).toMatchObject({
      error: { code: 'not_found', message: 'no producer "missing" in the meeting' },
    });
    expect(await client.call('resume', { consumerId: 'missing' })).toMatchObject({ error: { code: 'not_found', message: 'no consumer "missing"' } });
    // Nothing leaked: the one transport created is the only one in the router.
    const room = await rooms.existing(id);
    expect((await room!.router.dump()).transportIds).toEqual([transport.transportId]);
  });
});

describe('WebSocket protocol errors', () => {
  it.each([
    ['a text frame that is not UTF-8', (client: SignalingTestClient) => client.socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }), 1007],
    ['a frame over 64 KiB', (client: SignalingTestClient) => client.sendRaw('x'.repeat(70_000)), 1009],
  ])('closes the socket on %s with its close code and logs it at debug, not error', async (_name, send, code) => {
    const id = await meeting(`protocol-error-${code}`);
    const client = await connect(id);
    const before = capture.lines().length;
    send(client);
    expect((await client.closed).code).toBe(code);
    await sleep(50);
    const lines = capture.lines().slice(before);
    expect(lines.filter((line) => (line.level as number) >= 40)).toEqual([]);
    expect(lines.some((line) => line.msg === 'WebSocket closed on a protocol or connection error' && line.level === 20)).toBe(true);
  });
});

describe('failures', () => {
  it('refuses dialOut with forbidden while PAGE_DIAL_OUT is off, and before join', async () => {
    const id = await meeting('page-dial-off');
    const client = await connect(id);
    expect(await client.call('dialOut', { to: 'sip:bob@127.0.0.1' })).toMatchObject({ ok: false, error: { code: 'bad_request', message: 'join the meeting first' } });
    const { rtpCapabilities } = await client.request('getRouterRtpCapabilities', {});
    expect(await client.request('join', { displayName: 'Ann', rtpCapabilities })).toMatchObject({ canDialOut: false });
    expect(await client.call('dialOut', { to: 'sip:bob@127.0.0.1' })).toMatchObject({
      ok: false,
      error: { code: 'forbidden', message: 'dialling out from the page is off on this gateway (PAGE_DIAL_OUT)' },
    });
    expect(await client.call('dialOut', { to: '' })).toMatchObject({ ok: false, error: { message: '"to" must be 1 to 256 printable characters' } });
  });

  it('answers what the client got wrong with bad_request and logs no error', async () => {
    const id = await meeting('client-fault-1');
    const { client } = await joined(id, 'Careless');
    const transport = await client.request('createTransport', { direction: 'send' });
    const reply = await client.call('produce', { transportId: transport.transportId, kind: 'audio', rtpParameters: { codecs: [{ mimeType: 'audio/nope' }] } } as never);
    expect(reply.error?.code).toBe('bad_request');
    expect(capture.lines().filter((line) => line.meetingId === id && (line.level as number) >= 50)).toEqual([]);
  });

  it('answers a bug of ours (a TypeError) as internal, hides its text, and logs it at error with the stack', async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'router')");
    const broken = await buildApp({ ...services.deps, signaling: { ...services.deps.signaling, rooms: { room: async () => Promise.reject(bug) } } });
    try {
      const brokenUrl = await broken.listen({ host: '127.0.0.1', port: 0 });
      const id = await meeting('bug-1');
      const client = await SignalingTestClient.connect(`${brokenUrl.replace('http', 'ws')}/ws/meetings/${id}`);
      clients.push(client);

      expect(await client.call('getRouterRtpCapabilities', {})).toEqual({ v: 1, id: 1, ok: false, error: { code: 'internal', message: 'internal error' } });
      const logged = capture.lines().find((line) => line.meetingId === id && line.msg === 'signaling request failed');
      expect(logged).toMatchObject({ level: 50, method: 'getRouterRtpCapabilities', err: { type: 'TypeError', message: bug.message } });
      expect((logged?.err as { stack: string }).stack).toContain(bug.stack!.split('\n')[1]!.trim());
      // The socket stays usable: the next request is answered too.
      expect((await client.call('mute', { muted: true })).error).toEqual({ code: 'bad_request', message: 'join the meeting first' });
    } finally {
      await broken.close();
    }
  });
});

describe('a meeting of two participants', () => {
  it('announces joins, producers, mute and leave, and consumes each other', async () => {
    const id = await meeting('pair-1');
    const alice = await joined(id, 'Alice');
    expect(alice.join.meetingTitle).toBe('Meeting pair-1');
    expect(alice.join.participants.map((p) => p.displayName)).toEqual(['Alice']);

    const bob = await joined(id, 'Bob');
    const announced = await alice.client.notification('participantJoined');
    expect(announced.participant).toMatchObject({ displayName: 'Bob', kind: 'browser', muted: false, speaking: false });

    const send = await alice.client.request('createTransport', { direction: 'send' });
    expect(send.iceCandidates.map((c) => [c.protocol, c.ip])).toEqual(expect.arrayContaining([['udp', '127.0.0.1'], ['tcp', '127.0.0.1']]));
    const { producerId } = await alice.client.request('produce', { transportId: send.transportId, kind: 'audio', rtpParameters: opusParameters(1111) as never });
    expect(await bob.client.notification('producerAdded')).toEqual({ producerId, participantId: alice.join.participantId });

    const recv = await bob.client.request('createTransport', { direction: 'recv' });
    const consumed = await bob.client.request('consume', { transportId: recv.transportId, producerId });
    expect(consumed).toMatchObject({ producerId, participantId: alice.join.participantId, kind: 'audio' });
    expect(consumed.rtpParameters.codecs[0]?.mimeType).toBe('audio/opus');
    await bob.client.request('resume', { consumerId: consumed.consumerId });

    await alice.client.request('mute', { muted: true });
    expect((await bob.client.notification('participantUpdated')).participant).toMatchObject({ displayName: 'Alice', muted: true });
    expect((await store.listParticipants(id)).find((p) => p.displayName === 'Alice')?.muted).toBe(true);

    await alice.client.request('leave', {});
    expect((await alice.client.closed).code).toBe(1000);
    expect(await bob.client.notification('participantLeft')).toEqual({ participantId: alice.join.participantId });
    expect(await bob.client.notification('consumerClosed')).toEqual({ consumerId: consumed.consumerId });
    const room = await rooms.existing(id);
    expect((await room!.router.dump()).transportIds).toEqual([recv.transportId]);
    await until(async () => (await store.listParticipants(id)).length === 1);
  });

  it('a late joiner is told about existing producers in its join answer', async () => {
    const id = await meeting('late-1');
    const alice = await joined(id, 'Alice');
    const send = await alice.client.request('createTransport', { direction: 'send' });
    const { producerId } = await alice.client.request('produce', { transportId: send.transportId, kind: 'audio', rtpParameters: opusParameters(2222) as never });
    const late = await joined(id, 'Late');
    expect(late.join.producers).toEqual([{ producerId, participantId: alice.join.participantId }]);
    expect(late.join.participants.map((p) => p.displayName).sort()).toEqual(['Alice', 'Late']);
  });
});

describe('lifecycle', () => {
  it('a dropped connection leaves the meeting and closes its transports', async () => {
    const id = await meeting('dropped-1');
    const watcher = await joined(id, 'Watcher');
    const gone = await joined(id, 'Gone');
    await gone.client.request('createTransport', { direction: 'send' });
    await gone.client.request('createTransport', { direction: 'recv' });
    const room = (await rooms.existing(id))!;
    expect((await room.router.dump()).transportIds).toHaveLength(2);

    gone.client.socket.terminate();
    expect(await watcher.client.notification('participantLeft')).toEqual({ participantId: gone.join.participantId });
    expect((await room.router.dump()).transportIds).toEqual([]);
    await until(async () => (await store.listParticipants(id)).length === 1);
  });

  it('ending the meeting disconnects everyone with 4410 and closes the room', async () => {
    const id = await meeting('ending-2');
    const a = await joined(id, 'A');
    const b = await joined(id, 'B');
    await a.client.request('createTransport', { direction: 'send' });
    const room = (await rooms.existing(id))!;

    const response = await fetch(`${url}/api/meetings/${id}`, { method: 'DELETE' });
    expect(response.status).toBe(200);
    for (const { client } of [a, b]) {
      expect(await client.notification('meetingEnded')).toEqual({ reason: 'meeting ended' });
      expect(await client.closed).toEqual({ code: 4410, reason: 'meeting ended' });
    }
    expect(room.isClosed).toBe(true);
    expect(room.router.closed).toBe(true);
    expect(await rooms.existing(id)).toBeUndefined();
    await until(async () => (await store.listParticipants(id)).length === 0);
  });

  it('losing the media worker disconnects everyone with 4500 and says to rejoin', async () => {
    const id = await meeting('worker-lost-1');
    const { client } = await joined(id, 'Stranded');
    const room = (await rooms.existing(id))!;
    process.kill(workers.workers[0]!.pid, 'SIGKILL');
    expect(await client.closed).toEqual({ code: 4500, reason: 'media server lost; please rejoin' });
    expect(room.isClosed).toBe(true);
    await until(() => workers.problem() === undefined, 5000);
  });

  it('an empty room closes after the grace period', async () => {
    const id = await meeting('grace-1');
    const { client } = await joined(id, 'Solo');
    const room = (await rooms.existing(id))!;
    await client.request('leave', {});
    await sleep(300);
    expect(room.isClosed).toBe(false);
    await until(() => room.isClosed, 3000);
    expect(await rooms.existing(id)).toBeUndefined();
  });
});
