import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { MeetingService } from '../../src/meetings/meeting-service.js';
import { hashCredential } from '../../src/credentials/digest-hash.js';
import { SipCredentials, TWILIO_CREDENTIAL_TTL_MS } from '../../src/credentials/sip-credentials.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { parseAuthorization } from '../../src/sip/digest/authorization-header.js';
import { DigestVerifier } from '../../src/sip/digest/digest-verifier.js';
import { MemoryNonceCountStore } from '../../src/sip/digest/nonce-count-store.js';
import { NonceIssuer } from '../../src/sip/digest/nonce-issuer.js';
import { digestReply } from '../sip/digest/digest-client.js';
import type { GatewayStore, SipCredential } from '../../src/store/store.js';
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

function setUp(store: GatewayStore = new MemoryStore()) {
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

  it('admits an ordinary credential again and again', async () => {
    const issued = await env.credentials.create();
    const stored = (await env.credentials.lookup(issued.username))!;
    await env.credentials.admit(stored, {});
    await env.credentials.admit(stored, { callSid: 'CA1' });
    expect(await env.credentials.lookup(issued.username)).toBeDefined();
  });

  describe('minted for a Twilio call', () => {
    async function minted(callSid = 'CAparent') {
      await env.meetings.create({ id: 'pstn-room' }).catch(() => undefined);
      const issued = await env.credentials.mintForTwilioCall({ meetingId: 'pstn-room', callSid });
      return { issued, stored: (await env.credentials.lookup(issued.username))! };
    }

    it('is scoped to the meeting, bound to the call and expires after 60 s', async () => {
      const before = Date.now();
      const { issued, stored } = await minted();
      expect(issued).toMatchObject({ meetingId: 'pstn-room', sipUri: `sip:pstn-room@${SIP_DOMAIN}` });
      expect(stored.twilioCall?.callSid).toBe('CAparent');
      expect(stored.twilioCall?.expiresAt).toBeGreaterThanOrEqual(before + TWILIO_CREDENTIAL_TTL_MS);
      expect(stored.twilioCall?.expiresAt).toBeLessThanOrEqual(Date.now() + TWILIO_CREDENTIAL_TTL_MS);
      expect(await env.credentials.list()).toEqual([
        { username: issued.username, meetingId: 'pstn-room', twilioCallSid: 'CAparent', expiresAt: stored.twilioCall?.expiresAt, createdAt: stored.createdAt },
      ]);
    });

    it('admits one INVITE and refuses the next', async () => {
      const { issued, stored } = await minted();
      await expect(env.credentials.admit(stored, { callSid: 'CAparent' })).resolves.toBeUndefined();
      await expect(env.credentials.admit(stored, { callSid: 'CAparent' })).rejects.toMatchObject({
        code: 'forbidden',
        message: 'single-use credential has already been used',
      });
      expect(await env.credentials.lookup(issued.username)).toBeUndefined();
    });

    it('admits an INVITE whose X-Webhook-CallSid names the call while X-Twilio-CallSid names the dialed leg', async () => {
      const { stored } = await minted();
      await expect(env.credentials.admit(stored, { callSid: 'CAchild', webhookCallSid: 'CAparent' })).resolves.toBeUndefined();
    });

    it('refuses an INVITE that names another Twilio call, and stays usable for its own', async () => {
      const { stored } = await minted();
      await expect(env.credentials.admit(stored, { callSid: 'CAother' })).rejects.toMatchObject({
        code: 'forbidden',
        message: 'credential was minted for another Twilio call',
      });
      await expect(env.credentials.admit(stored, { callSid: 'CAparent' })).resolves.toBeUndefined();
    });

    it('is unknown once expired, and minting sweeps expired ones from the store', async () => {
      const { issued } = await minted();
      const expired = { ...(await env.store.getCredential(issued.username))!, twilioCall: { callSid: 'CAparent', expiresAt: Date.now() - 1 } };
      await env.store.deleteCredential(issued.username);
      await env.store.addCredential(expired);
      await env.store.addCredential({ ...expired, username: 'uexpired2' });
      expect(await env.credentials.lookup(issued.username)).toBeUndefined();
      expect(await env.store.getCredential(issued.username)).toBeUndefined();
      await minted('CAnext');
      expect(await env.store.getCredential('uexpired2')).toBeUndefined();
    });
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

describe('SipCredentials at rest in Redis', () => {
  const prefix = `test:${randomUUID()}:`;
  let store: RedisStore;
  let admin: Redis;

  beforeAll(async () => {
    store = await RedisStore.connect(inject('redisUrl'), { prefix });
    admin = new Redis(inject('redisUrl'));
  });

  afterAll(async () => {
    await store.close();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });

  /** Whether an issued password passes digest verification against the stored record. */
  async function verifies(username: string, password: string): Promise<boolean> {
    const nonces = new NonceIssuer({ secret: 'deployment-wide nonce secret 0123', realm: SIP_DOMAIN });
    const verifier = new DigestVerifier({ realm: SIP_DOMAIN, nonces, nonceCounts: new MemoryNonceCountStore() });
    const { credentials } = setUp(store);
    const uri = `sip:room-a@${SIP_DOMAIN}`;
    const outcomes = await Promise.all(
      (['MD5', 'SHA-256'] as const).map(async (algorithm) => {
        const header = digestReply({ layout: 'baresip', username, password, realm: SIP_DOMAIN, nonce: nonces.issue(), method: 'INVITE', uri, algorithm, nc: 1, cnonce: '0a4f113b9c2d5e7f' });
        return verifier.verify({ credentials: parseAuthorization(header), method: 'INVITE', requestUri: uri, credential: await credentials.lookup(username) });
      }),
    );
    return outcomes.every((outcome) => outcome.ok);
  }

  it('holds a credential as its username, realm and one HA1 per digest algorithm: the password is in no key or value', async () => {
    const { credentials } = setUp(store);
    const issued = await credentials.create();
    const raw = await admin.hget(`${prefix}sip-credentials`, issued.username);
    expect(JSON.parse(raw!)).toEqual({ username: issued.username, realm: SIP_DOMAIN, ...hashCredential(issued.username, SIP_DOMAIN, issued.password), createdAt: expect.any(Number) });
    for (const key of await admin.keys(`${prefix}*`)) {
      expect(key).not.toContain(issued.password);
      const value = (await admin.type(key)) === 'hash' ? await admin.hgetall(key) : await admin.get(key);
      expect(JSON.stringify(value)).not.toContain(issued.password);
    }
    expect(await verifies(issued.username, issued.password)).toBe(true);
    expect(await verifies(issued.username, 'not the password')).toBe(false);
  });

  it('reads a record an earlier version wrote, byte for byte, and verifies its caller with either algorithm', async () => {
    // The record format has not changed since the first version: username, realm, ha1Md5, ha1Sha256, meetingId?, createdAt.
    const password = 'EarlierVersionPassword42';
    const hex = (algorithm: string, text: string) => createHash(algorithm).update(text).digest('hex');
    const ha1 = (algorithm: string) => hex(algorithm, `uearlier0001:${SIP_DOMAIN}:${password}`);
    const written = `{"username":"uearlier0001","realm":"${SIP_DOMAIN}","ha1Md5":"${ha1('md5')}","ha1Sha256":"${ha1('sha256')}","meetingId":"room-a","createdAt":1700000000000}`;
    await admin.hset(`${prefix}sip-credentials`, 'uearlier0001', written);
    const { credentials } = setUp(store);
    expect(await credentials.list()).toContainEqual({ username: 'uearlier0001', meetingId: 'room-a', createdAt: 1_700_000_000_000 });
    expect(await verifies('uearlier0001', password)).toBe(true);
  });
});
