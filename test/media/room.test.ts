/**
 * A room on a real mediasoup worker, heard through its members' channels: what it tells
 * them is in media terms (notices, close reasons); mapping those to a wire is the
 * channel's job (test/signaling).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { MediaPlane } from '../../src/media/plane/media-plane.js';
import { PhoneMedia } from '../../src/media/phone-media.js';
import { Room } from '../../src/media/room.js';
import type { MemberChannel, RoomMember } from '../../src/media/room-member.js';
import type { MemberEndReason, RoomNotice } from '../../src/media/room-notices.js';
import { WorkerPool } from '../../src/media/worker-pool.js';
import { capturedLogger } from '../support/log-capture.js';

const LISTEN = { ip: '127.0.0.1', announcedIp: '127.0.0.1' };
const log = capturedLogger().log;
let pool: WorkerPool;
let plane: MediaPlane;
let room: Room;

beforeAll(async () => {
  pool = await WorkerPool.create({ size: 1, rtcMinPort: 43000, rtcMaxPort: 43099 }, log);
  plane = MediaPlane.create({ threads: 1 }, log);
});
afterAll(async () => {
  pool.close();
  await plane.close();
});
afterEach(() => room.close('shutdown'));

async function openRoom(id: string): Promise<Room> {
  room = await Room.create(id, pool.leastLoaded(), { maxParticipants: 5, mixer: { talkers: 3, plane } }, log);
  return room;
}

/** A channel that records what the room said to one member. */
function recordingChannel() {
  const notices: RoomNotice[] = [];
  const disconnects: Array<{ text: string; reason: MemberEndReason }> = [];
  const channel: MemberChannel = {
    notify: (notice) => notices.push(notice),
    disconnect: (text, reason) => disconnects.push({ text, reason }),
  };
  return { channel, notices, disconnects };
}

function admit(id: string) {
  const recorded = recordingChannel();
  const member = room.admit({ id, displayName: id.toUpperCase(), kind: 'browser' }, recorded.channel);
  return { member, ...recorded };
}

const opusParameters = {
  codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] }],
  encodings: [{ ssrc: 1111 }],
  headerExtensions: [],
  rtcp: { cname: 'c1111', reducedSize: true },
};

async function producing(member: RoomMember) {
  const transport = await member.createWebRtcTransport(LISTEN);
  return member.produce(transport.id, opusParameters);
}

describe('Room notices', () => {
  it('tells the others of a join, a change and a leave, as member views', async () => {
    await openRoom('notices-1');
    const alice = admit('alice');
    const bob = admit('bob');
    await bob.member.setMuted(true);
    room.remove('bob', 'left');

    expect(alice.notices).toEqual([
      { kind: 'member-joined', member: { id: 'bob', displayName: 'BOB', kind: 'browser', muted: false, speaking: false } },
      { kind: 'member-changed', member: { id: 'bob', displayName: 'BOB', kind: 'browser', muted: true, speaking: false } },
      { kind: 'member-left', memberId: 'bob' },
    ]);
    expect(bob.notices).toEqual([{ kind: 'member-changed', member: expect.objectContaining({ id: 'bob', muted: true }) }]);
    expect(room.views().map((view) => view.id)).toEqual(['alice']);
  });

  it('announces a producer to everyone but its owner, and closes consumers of it when the owner leaves', async () => {
    await openRoom('notices-2');
    const alice = admit('alice');
    const bob = admit('bob');
    const producer = await producing(alice.member);

    expect(bob.notices).toContainEqual({ kind: 'producer-opened', producer: { producerId: producer.id, memberId: 'alice' } });
    expect(alice.notices.filter((notice) => notice.kind === 'producer-opened')).toEqual([]);
    expect(room.producers('bob')).toEqual([{ producerId: producer.id, memberId: 'alice' }]);

    bob.member.rtpCapabilities = room.router.rtpCapabilities;
    const recv = await bob.member.createWebRtcTransport(LISTEN);
    const consumer = await bob.member.consume(recv.id, producer.id);
    room.remove('alice', 'left');
    await expect.poll(() => bob.notices).toContainEqual({ kind: 'consumer-closed', consumerId: consumer.id });
  });
});

describe('Room.expel', () => {
  it('disconnects the member with "removed", closes its media and tells the others it left; the room goes on', async () => {
    await openRoom('expel-1');
    const alice = admit('alice');
    const bob = admit('bob');
    await producing(bob.member);

    expect(room.expel('bob')).toBe(true);
    expect(bob.disconnects).toEqual([{ text: 'removed from the meeting', reason: 'removed' }]);
    await expect.poll(() => bob.member.mediaCounts).toEqual({ transports: 0, producers: 0, consumers: 0 });
    expect(alice.notices).toContainEqual({ kind: 'member-left', memberId: 'bob' });
    expect(alice.disconnects).toEqual([]);
    expect(room.views().map((view) => view.id)).toEqual(['alice']);
    expect(room.isClosed).toBe(false);
    expect(room.expel('bob')).toBe(false);
  });
});

describe('Room.digitPressed', () => {
  it('tells everyone but the member who pressed it', async () => {
    await openRoom('digits-1');
    const alice = admit('alice');
    const phone = admit('phone');
    room.digitPressed('phone', '5');
    room.digitPressed('gone', '6');
    expect(alice.notices).toContainEqual({ kind: 'digit-pressed', memberId: 'phone', digit: '5' });
    expect(alice.notices.filter((notice) => notice.kind === 'digit-pressed')).toHaveLength(1);
    expect(phone.notices.filter((notice) => notice.kind === 'digit-pressed')).toEqual([]);
  });
});

describe('Room.close', () => {
  it.each([
    ['meeting-ended', 'meeting ended'],
    ['media-lost', 'media server lost; please rejoin'],
    ['idle', 'meeting idle'],
    ['shutdown', 'gateway shutting down'],
  ] as const)('%s: disconnects every member once with that reason and its words', async (reason, text) => {
    await openRoom(`close-${reason}`);
    const members = [admit('alice'), admit('bob')];
    room.close(reason);
    room.close('shutdown');

    for (const { disconnects } of members) expect(disconnects).toEqual([{ text, reason }]);
    expect(room.size).toBe(0);
    expect(room.router.closed).toBe(true);
  });
});

describe('parameters mediasoup refuses', () => {
  it('are a bad request that names them, not an unexpected error', async () => {
    await openRoom('refused-1');
    const { member } = admit('alice');
    const transport = await member.createWebRtcTransport(LISTEN);

    const produced = member.produce(transport.id, { codecs: [{ mimeType: 'audio/nope', payloadType: 100, clockRate: 8000 }] });
    await expect(produced).rejects.toBeInstanceOf(GatewayError);
    await expect(produced).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^invalid rtpParameters: /) });

    const connected = member.connectTransport(transport.id, { fingerprints: [] });
    await expect(connected).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^invalid dtlsParameters: /) });
  });
});

describe('a member that leaves while mediasoup makes its stream', () => {
  it('gets its producer and consumer closed, not left open in mediasoup\'s Node side', async () => {
    await openRoom('left-meanwhile');
    const talker = admit('talker').member;
    const talked = await producing(talker);
    const { member } = admit('alice');
    member.rtpCapabilities = room.router.rtpCapabilities;
    const transport = await member.createWebRtcTransport(LISTEN);
    const router = room.router;
    const opened: Array<{ closed: boolean }> = [];
    transport.observer.on('newproducer', (producer) => opened.push(producer));
    transport.observer.on('newconsumer', (consumer) => opened.push(consumer));

    const produced = member.produce(transport.id, opusParameters);
    const consumed = member.consume(transport.id, talked.id);
    room.remove(member.id, 'left');

    await expect(produced).rejects.toMatchObject({ code: 'gone' });
    await expect(consumed).rejects.toMatchObject({ code: 'gone' });
    expect(opened).toHaveLength(2);
    expect(opened.every((made) => made.closed)).toBe(true);
    expect(router.closed).toBe(false);
  });
});

describe('a phone call being set up (its port open, not yet started)', () => {
  const openPhone = (channel: MemberChannel) =>
    PhoneMedia.open({
      room,
      identity: { id: 'phone', displayName: 'Phone', kind: 'phone' },
      channel,
      rtp: { listenIp: '127.0.0.1', minPort: 43100, maxPort: 43149 },
      latch: true,
    });

  it('takes no place and is seen by nobody; the room is not idle while it waits, and empty again once it gives up', async () => {
    await openRoom('phone-pending');
    const watcher = admit('watcher');
    const emptied: number[] = [];
    room.on('empty', () => emptied.push(room.size));
    const media = await openPhone(recordingChannel().channel);
    expect(room.size).toBe(1);
    expect(watcher.notices).toEqual([]);
    expect(media.member).toBeUndefined();

    room.remove('watcher', 'left');
    expect(room.isIdle).toBe(false);
    media.close('never ACKed');
    expect(room.isIdle).toBe(true);
    // Once when the last member left, once when the waiting phone gave up: the room may idle out from then.
    expect(emptied).toEqual([0, 0]);
  });

  it('is told when the room closes before it started, as a member would be', async () => {
    await openRoom('phone-pending-closed');
    const phone = recordingChannel();
    const media = await openPhone(phone.channel);
    room.close('meeting-ended');
    expect(phone.disconnects).toEqual([{ text: 'meeting ended', reason: 'meeting-ended' }]);
    media.close('meeting ended');
  });
});
