import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import {
  type ActiveCall,
  type GatewayStore,
  type Meeting,
  type MeetingRoute,
  type Participant,
  type PendingWebhook,
  type SipCredential,
  TWILIO_CALLS_KEPT,
} from '../../src/store/store.js';

interface Backend {
  name: string;
  open(): Promise<{ store: GatewayStore; dispose(): Promise<void> }>;
}

const backends: Backend[] = [
  { name: 'memory', open: async () => ({ store: new MemoryStore(), dispose: async () => {} }) },
  {
    name: 'redis',
    async open() {
      const url = inject('redisUrl');
      // A prefix per test keeps runs apart even on a shared Redis; its keys are deleted afterwards.
      const prefix = `test:${randomUUID()}:`;
      const store = await RedisStore.connect(url, { prefix });
      return {
        store,
        async dispose() {
          await store.close();
          const admin = new Redis(url);
          const keys = await admin.keys(`${prefix}*`);
          if (keys.length > 0) await admin.del(...keys);
          await admin.quit();
        },
      };
    },
  },
];

const meeting = (id: string, extra: Partial<Meeting> = {}): Meeting => ({ id, title: `Meeting ${id}`, createdAt: 1_700_000_000_000, ...extra });
const credential = (username: string, extra: Partial<SipCredential> = {}): SipCredential => ({
  username,
  realm: 'sip.example.com',
  ha1Md5: 'a'.repeat(32),
  ha1Sha256: 'b'.repeat(64),
  createdAt: 1_700_000_000_000,
  ...extra,
});
const call = (callId: string, meetingId: string): ActiveCall => ({
  callId,
  meetingId,
  nodeId: 'node-1',
  caller: '***1234',
  codec: 'PCMU',
  startedAt: 1_700_000_000_000,
});
const participant = (id: string, meetingId: string, extra: Partial<Participant> = {}): Participant => ({
  id,
  meetingId,
  displayName: `P ${id}`,
  kind: 'browser',
  muted: false,
  nodeId: 'node-1',
  joinedAt: 1_700_000_000_000,
  ...extra,
});

describe.each(backends)('GatewayStore contract: $name', (backend) => {
  let store: GatewayStore;
  let dispose: () => Promise<void>;

  beforeEach(async () => {
    ({ store, dispose } = await backend.open());
  });
  afterEach(async () => {
    await dispose();
  });

  it('answers ping', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('creates a meeting once and refuses a duplicate id', async () => {
    expect(await store.createMeeting(meeting('m-1', { pin: '4321' }))).toBe(true);
    expect(await store.createMeeting(meeting('m-1', { title: 'other' }))).toBe(false);
    expect(await store.getMeeting('m-1')).toEqual(meeting('m-1', { pin: '4321' }));
  });

  it('returns undefined for an unknown meeting', async () => {
    expect(await store.getMeeting('nope')).toBeUndefined();
    expect(await store.endMeeting('nope', 5)).toBeUndefined();
  });

  it('lists all meetings', async () => {
    await store.createMeeting(meeting('a'));
    await store.createMeeting(meeting('b'));
    const ids = (await store.listMeetings()).map((m) => m.id).sort();
    expect(ids).toEqual(['a', 'b']);
  });

  it('ends a meeting once: the first end time is kept and the id stays taken', async () => {
    await store.createMeeting(meeting('m-2'));
    expect((await store.endMeeting('m-2', 111))?.endedAt).toBe(111);
    expect((await store.endMeeting('m-2', 222))?.endedAt).toBe(111);
    expect((await store.getMeeting('m-2'))?.endedAt).toBe(111);
    expect((await store.listMeetings()).find((m) => m.id === 'm-2')?.endedAt).toBe(111);
    expect(await store.createMeeting(meeting('m-2'))).toBe(false);
  });

  it('does not share records with callers', async () => {
    const original = { ...meeting('m-3') };
    await store.createMeeting(original);
    (original as { title: string }).title = 'changed';
    expect((await store.getMeeting('m-3'))?.title).toBe('Meeting m-3');
  });

  it('adds, lists and deletes SIP credentials; a username is unique', async () => {
    expect(await store.addCredential(credential('alice', { meetingId: 'm-1' }))).toBe(true);
    expect(await store.addCredential(credential('alice'))).toBe(false);
    expect(await store.addCredential(credential('bob'))).toBe(true);
    expect(await store.getCredential('alice')).toEqual(credential('alice', { meetingId: 'm-1' }));
    expect((await store.listCredentials()).map((c) => c.username).sort()).toEqual(['alice', 'bob']);
    expect(await store.deleteCredential('alice')).toBe(true);
    expect(await store.deleteCredential('alice')).toBe(false);
    expect(await store.getCredential('alice')).toBeUndefined();
  });

  it('tracks active calls per meeting', async () => {
    await store.putCall(call('c1', 'm-1'));
    await store.putCall(call('c2', 'm-1'));
    await store.putCall(call('c3', 'm-2'));
    expect(await store.getCall('c1')).toEqual(call('c1', 'm-1'));
    expect((await store.listCalls('m-1')).map((c) => c.callId).sort()).toEqual(['c1', 'c2']);
    expect(await store.listCalls()).toHaveLength(3);
    expect(await store.removeCall('c1')).toBe(true);
    expect(await store.removeCall('c1')).toBe(false);
    expect((await store.listCalls('m-1')).map((c) => c.callId)).toEqual(['c2']);
  });

  it('tracks participants per meeting and replaces one on update', async () => {
    await store.putParticipant(participant('p1', 'm-1'));
    await store.putParticipant(participant('p2', 'm-1', { kind: 'phone' }));
    await store.putParticipant(participant('p1', 'm-2'));
    await store.putParticipant(participant('p1', 'm-1', { muted: true }));
    const inM1 = (await store.listParticipants('m-1')).sort((a, b) => a.id.localeCompare(b.id));
    expect(inM1).toEqual([participant('p1', 'm-1', { muted: true }), participant('p2', 'm-1', { kind: 'phone' })]);
    expect(await store.removeParticipant('m-1', 'p1')).toBe(true);
    expect(await store.removeParticipant('m-1', 'p1')).toBe(false);
    expect((await store.listParticipants('m-1')).map((p) => p.id)).toEqual(['p2']);
    expect((await store.listParticipants('m-2')).map((p) => p.id)).toEqual(['p1']);
    expect(await store.listParticipants('empty')).toEqual([]);
  });

  it('keeps a credential minted for a Twilio call with its call binding', async () => {
    const minted = credential('t1', { meetingId: 'm-1', twilioCall: { callSid: 'CA1', expiresAt: 1_700_000_060_000 } });
    expect(await store.addCredential(minted)).toBe(true);
    expect(await store.getCredential('t1')).toEqual(minted);
  });

  it('creates a meeting route once unless replacing, and keeps the two kinds apart', async () => {
    const route = (key: string, meetingId: string, kind: MeetingRoute['kind'] = 'phone-number'): MeetingRoute => ({ kind, key, meetingId, createdAt: 1 });
    expect(await store.putMeetingRoute(route('+4930123456', 'm-1'), 'create')).toBe(true);
    expect(await store.putMeetingRoute(route('+4930123456', 'm-2'), 'create')).toBe(false);
    expect(await store.putMeetingRoute(route('4930123456', 'm-3', 'dial-in-code'), 'create')).toBe(true);
    expect(await store.getMeetingRoute('phone-number', '+4930123456')).toEqual(route('+4930123456', 'm-1'));
    expect(await store.putMeetingRoute(route('+4930123456', 'm-2'), 'replace')).toBe(true);
    expect(await store.getMeetingRoute('phone-number', '+4930123456')).toEqual(route('+4930123456', 'm-2'));
    expect(await store.listMeetingRoutes('dial-in-code')).toEqual([route('4930123456', 'm-3', 'dial-in-code')]);
    expect(await store.deleteMeetingRoute('phone-number', '+4930123456')).toBe(true);
    expect(await store.deleteMeetingRoute('phone-number', '+4930123456')).toBe(false);
    expect(await store.getMeetingRoute('phone-number', '+4930123456')).toBeUndefined();
    expect(await store.listMeetingRoutes('phone-number')).toEqual([]);
  });

  it('counts within a window that starts at the first increment and then expires', async () => {
    expect(await store.getCounter('caller:+1555')).toBe(0);
    expect(await store.incrementCounter('caller:+1555', 300)).toBe(1);
    expect(await store.incrementCounter('caller:+1555', 300)).toBe(2);
    expect(await store.incrementCounter('caller:+1666', 300)).toBe(1);
    expect(await store.getCounter('caller:+1555')).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await store.getCounter('caller:+1555')).toBe(0);
    expect(await store.incrementCounter('caller:+1555', 300)).toBe(1);
  });

  it('merges Twilio call updates into one record per call and lists the newest first', async () => {
    await store.updateTwilioCall('CA1', { from: '+15550001', to: '+15550100', outcome: 'ivr' }, 1000);
    await store.updateTwilioCall('CA2', { from: '+15550002', outcome: 'not-connected' }, 2000);
    await store.updateTwilioCall('CA1', { meetingId: 'm-1', outcome: 'dialed' }, 3000);
    await store.updateTwilioCall('CA1', { status: 'completed', durationSeconds: 42 }, 4000);
    expect(await store.listTwilioCalls(10)).toEqual([
      { callSid: 'CA2', from: '+15550002', outcome: 'not-connected', firstSeenAt: 2000, updatedAt: 2000 },
      { callSid: 'CA1', from: '+15550001', to: '+15550100', meetingId: 'm-1', outcome: 'dialed', status: 'completed', durationSeconds: 42, firstSeenAt: 1000, updatedAt: 4000 },
    ]);
    expect((await store.listTwilioCalls(1)).map((c) => c.callSid)).toEqual(['CA2']);
  });

  it(`keeps only the newest ${TWILIO_CALLS_KEPT} Twilio calls`, async () => {
    for (let i = 0; i <= TWILIO_CALLS_KEPT; i++) await store.updateTwilioCall(`CA${i}`, { outcome: 'dialed' }, i);
    const kept = await store.listTwilioCalls(TWILIO_CALLS_KEPT + 10);
    expect(kept).toHaveLength(TWILIO_CALLS_KEPT);
    expect(kept.at(-1)?.callSid).toBe('CA1');
  });

  const webhook = (id: string, extra: Partial<PendingWebhook> = {}): PendingWebhook => ({
    id,
    type: 'meeting.ended',
    body: `{"id":"${id}"}`,
    createdAt: 1000,
    attempts: 0,
    ...extra,
  });

  it('hands out due webhooks, earliest due first, each to one claim until its lease ends', async () => {
    expect(await store.addWebhook(webhook('w-late'), 5000, 10)).toBe(true);
    expect(await store.addWebhook(webhook('w-2'), 2000, 10)).toBe(true);
    expect(await store.addWebhook(webhook('w-1'), 1000, 10)).toBe(true);
    expect(await store.claimDueWebhooks(2500, 10_000, 10)).toEqual([webhook('w-1'), webhook('w-2')]);
    // Leased: not due again before 12 500, while w-late fell due at 5000.
    expect(await store.claimDueWebhooks(2500, 10_000, 10)).toEqual([]);
    expect((await store.claimDueWebhooks(12_000, 10_000, 10)).map(({ id }) => id)).toEqual(['w-late']);
    // Lease over: due again, as many as the limit at a time.
    const once = await store.claimDueWebhooks(12_500, 10_000, 1);
    const rest = await store.claimDueWebhooks(12_500, 10_000, 10);
    expect([...once, ...rest].map(({ id }) => id).sort()).toEqual(['w-1', 'w-2']);
    expect(once).toHaveLength(1);
  });

  it('stores a retry with its attempts; a removed webhook stays removed, retried or not', async () => {
    await store.addWebhook(webhook('w-r'), 1000, 10);
    const [claimed] = await store.claimDueWebhooks(1000, 60_000, 10);
    await store.retryWebhook({ ...claimed!, attempts: 1 }, 3000);
    expect(await store.claimDueWebhooks(2999, 60_000, 10)).toEqual([]);
    expect(await store.claimDueWebhooks(3000, 60_000, 10)).toEqual([webhook('w-r', { attempts: 1 })]);
    await store.removeWebhook('w-r');
    // Another node's late retry of a webhook delivered meanwhile does not bring it back.
    await store.retryWebhook(webhook('w-r', { attempts: 2 }), 4000);
    expect(await store.claimDueWebhooks(10_000_000, 60_000, 10)).toEqual([]);
  });

  it('refuses a webhook once maxPending are queued', async () => {
    expect(await store.addWebhook(webhook('w-a'), 1000, 2)).toBe(true);
    expect(await store.addWebhook(webhook('w-b'), 1000, 2)).toBe(true);
    expect(await store.addWebhook(webhook('w-c'), 1000, 2)).toBe(false);
    await store.removeWebhook('w-a');
    expect(await store.addWebhook(webhook('w-c'), 1000, 2)).toBe(true);
  });
});

describe('RedisStore connection', () => {
  it('rejects when Redis does not answer instead of waiting forever', async () => {
    // Port 1 on loopback refuses connections.
    await expect(RedisStore.connect('redis://127.0.0.1:1', { timeoutMs: 500 })).rejects.toThrow();
  });
});
