import { beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { MeetingService } from '../../src/meetings/meeting-service.js';
import { hashCredential } from '../../src/sip/digest/digest-hash.js';
import { SipCredentials } from '../../src/sip/sip-credentials.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { SipCredential } from '../../src/store/store.js';
import { capturedLogger } from '../support/log-capture.js';

const SIP_DOMAIN = 'sip.example.com';

/** A store where every username seems taken for the first `clashes` attempts. */
class ClashingStore extends MemoryStore {
  constructor(private clashes: number) {
    super();
  }

  override async addCredential(credential: SipCredential): Promise<boolean> {
    if (this.clashes-- > 0) return false;
    return super.addCredential(credential);
  }
}

function setUp(store = new MemoryStore()) {
  const capture = capturedLogger();
  const meetings = new MeetingService(store, { sipDomain: SIP_DOMAIN, publicUrl: 'https://meet.example.com' }, capture.log);
  const credentials = new SipCredentials(store, meetings, { sipDomain: SIP_DOMAIN }, capture.log);
  return { store, meetings, credentials, capture };
}

const rejection = (promise: Promise<unknown>) => promise.then(() => expect.unreachable('expected a rejection'), (err: unknown) => err);

describe('SipCredentials', () => {
  let env: ReturnType<typeof setUp>;
  beforeEach(() => {
    env = setUp();
  });

  it('issues a random username and password and stores only their HA1s', async () => {
    const issued = await env.credentials.create();
    expect(issued.username).toMatch(/^u[a-z2-7]{10}$/);
    expect(issued.password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(issued).not.toHaveProperty('meetingId');

    const stored = await env.store.getCredential(issued.username);
    expect(stored).toEqual({
      username: issued.username,
      realm: SIP_DOMAIN,
      ...hashCredential(issued.username, SIP_DOMAIN, issued.password),
      createdAt: expect.any(Number),
    });
    expect(JSON.stringify(stored)).not.toContain(issued.password);
  });

  it('never issues the same username or password twice', async () => {
    const issued = await Promise.all(Array.from({ length: 20 }, () => env.credentials.create()));
    expect(new Set(issued.map((c) => c.username)).size).toBe(20);
    expect(new Set(issued.map((c) => c.password)).size).toBe(20);
  });

  it('gives an unscoped credential a dialling template that cannot pass for a real meeting URI', async () => {
    expect((await env.credentials.create()).sipUri).toBe('sip:<meetingId>@sip.example.com');
  });

  it('scopes a credential to an active meeting and gives that meeting’s URI', async () => {
    await env.meetings.create({ id: 'board-room' });
    const issued = await env.credentials.create({ meetingId: 'board-room' });
    expect(issued).toMatchObject({ meetingId: 'board-room', sipUri: 'sip:board-room@sip.example.com' });
    expect((await env.credentials.lookup(issued.username))?.meetingId).toBe('board-room');
  });

  it.each([
    ['an unknown meeting', 'no-such-meeting', 'not_found'],
    ['an id no meeting can have', 'a b', 'not_found'],
    ['an ended meeting', 'ended-one', 'gone'],
  ])('refuses to scope a credential to %s and stores nothing', async (_what, meetingId, code) => {
    await env.meetings.create({ id: 'ended-one' });
    await env.meetings.end('ended-one');
    const err = await rejection(env.credentials.create({ meetingId }));
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ code });
    expect(await env.store.listCredentials()).toEqual([]);
  });

  it('retries a clashing username rather than replacing another credential', async () => {
    const { credentials, store } = setUp(new ClashingStore(2));
    const issued = await credentials.create();
    expect((await store.listCredentials()).map((c) => c.username)).toEqual([issued.username]);
  });

  it('gives up with unavailable when usernames keep clashing', async () => {
    const { credentials } = setUp(new ClashingStore(Number.POSITIVE_INFINITY));
    expect(await rejection(credentials.create())).toMatchObject({ code: 'unavailable', message: 'could not find an unused SIP username; try again' });
  });

  it('lists credentials oldest first, without secrets', async () => {
    const record = (username: string, createdAt: number, meetingId?: string): SipCredential => ({
      username,
      realm: SIP_DOMAIN,
      ...hashCredential(username, SIP_DOMAIN, 'some password'),
      ...(meetingId ? { meetingId } : {}),
      createdAt,
    });
    for (const credential of [record('third', 3), record('first', 1, 'room-a'), record('second', 2)]) await env.store.addCredential(credential);

    const listed = await env.credentials.list();
    expect(listed).toEqual([
      { username: 'first', meetingId: 'room-a', createdAt: 1 },
      { username: 'second', createdAt: 2 },
      { username: 'third', createdAt: 3 },
    ]);
    expect(JSON.stringify(listed)).not.toMatch(/ha1|realm|password/i);
  });

  it('revokes a credential; an unknown username is not_found', async () => {
    const issued = await env.credentials.create();
    await env.credentials.revoke(issued.username);
    expect(await env.credentials.lookup(issued.username)).toBeUndefined();
    expect(await rejection(env.credentials.revoke(issued.username))).toMatchObject({
      code: 'not_found',
      message: `SIP credential "${issued.username}" does not exist`,
    });
  });

  it('looks up the stored record for the SIP side, undefined when unknown', async () => {
    const issued = await env.credentials.create();
    expect(await env.credentials.lookup(issued.username)).toEqual(await env.store.getCredential(issued.username));
    expect(await env.credentials.lookup('unknown')).toBeUndefined();
  });

  it('lets an unscoped credential enter any meeting and a scoped one only its own', () => {
    expect(env.credentials.mayEnter({}, 'any-meeting')).toBe(true);
    expect(env.credentials.mayEnter({ meetingId: 'room-a' }, 'room-a')).toBe(true);
    expect(env.credentials.mayEnter({ meetingId: 'room-a' }, 'room-b')).toBe(false);
  });

  it('logs creation and revocation without the password or its digests', async () => {
    await env.meetings.create({ id: 'logged-1' });
    const issued = await env.credentials.create({ meetingId: 'logged-1' });
    await env.credentials.revoke(issued.username);
    const stored = hashCredential(issued.username, SIP_DOMAIN, issued.password);

    const events = env.capture.lines().filter((line) => line.username === issued.username);
    expect(events.map((e) => [e.msg, e.meetingId])).toEqual([
      ['SIP credential created', 'logged-1'],
      ['SIP credential revoked', undefined],
    ]);
    const text = env.capture.text();
    for (const secret of [issued.password, stored.ha1Md5, stored.ha1Sha256]) expect(text).not.toContain(secret);
  });
});
