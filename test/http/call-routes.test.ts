import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayEnd } from '../../src/calls/call-end.js';
import type { CallQualityReport } from '../../src/media/quality/call-quality.js';
import { buildApp } from '../../src/http/app.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { apiClient, memoryApp } from '../support/app.js';
import { capturedLogger } from '../support/log-capture.js';

const TOKEN = 'test-api-token-0123456789';
/** The store the nodes share (Redis in a cluster): where another node's calls are recorded. */
const store = new MemoryStore();
const { deps, calls } = memoryApp({ API_TOKEN: TOKEN }, capturedLogger().log, store);
let app: FastifyInstance;
let api: ReturnType<typeof apiClient>;

const QUALITY: CallQualityReport = {
  codec: 'PCMU',
  roundTripMs: 12.5,
  fromPhone: { lossRatio: 0.01, jitterMs: 3.2, mos: 4.33, rFactor: 89.6, packets: 990, lost: 10 },
  toPhone: { lossRatio: 0, jitterMs: 1.1, mos: 4.41, rFactor: 93.2, lost: 0 },
};

/** What each call was told as it ended: a refusal's status, or a BYE's end. */
const signalled = new Map<string, { status?: number; bye?: GatewayEnd }>();

/** Each call's mute changes, as its media was asked for them. */
const muteChanges = new Map<string, boolean[]>();

/** A call as the registry holds it, with media that answers as PhoneMedia would. */
function openCall(callId: string, answered: boolean) {
  let muted = false;
  const call = calls.open({
    callId,
    meetingId: 'team-sync',
    signaling: { reject: (status, error) => signalled.set(callId, { status: error?.sipStatus ?? status }), bye: (end) => signalled.set(callId, { bye: end }) },
    store: new MemoryStore(),
    log: capturedLogger().log,
  });
  call.adoptMedia({
    identity: { displayName: '•••0123' },
    codec: answered ? 'PCMU' : undefined,
    qualityReport: async () => QUALITY,
    get muted() {
      return muted;
    },
    setMuted: async (mute) => {
      if (mute === muted) return false;
      muted = mute;
      muteChanges.set(callId, [...(muteChanges.get(callId) ?? []), mute]);
      return true;
    },
    firstRtpAt: () => undefined,
    close: () => undefined,
  });
  if (answered) call.answering();
  return call;
}

beforeAll(async () => {
  app = await buildApp(deps);
  api = apiClient(app, TOKEN);
});

afterAll(async () => {
  await calls.closeAll({ by: 'caller', reason: 'BYE' });
  await app.close();
});

describe('GET /api/calls', () => {
  it('lists no call when there is none', async () => {
    expect(await api('/calls')).toMatchObject({ status: 200, body: { calls: [] } });
  });

  it('lists the live calls of this node with caller, codec, state and the answered ones\' quality', async () => {
    const answered = openCall('call-1@phone', true);
    openCall('call-2@phone', false);
    const { status, body } = await api('/calls');
    expect(status).toBe(200);
    expect(body.calls).toEqual([
      {
        callId: 'call-1@phone',
        meetingId: 'team-sync',
        nodeId: 'test-node',
        caller: '•••0123',
        codec: 'PCMU',
        state: 'answered',
        startedAt: new Date(answered.startedAt).toISOString(),
        answeredAt: new Date(answered.answeredAt!).toISOString(),
        muted: false,
        quality: QUALITY,
      },
      { callId: 'call-2@phone', meetingId: 'team-sync', nodeId: 'test-node', caller: '•••0123', state: 'setting-up', startedAt: expect.any(String) },
    ]);
  });

  it('needs the API token', async () => {
    expect((await api('/calls', { token: null })).status).toBe(401);
  });
});

describe('a call another gateway node holds (recorded in the shared store)', () => {
  const elsewhere = { callId: 'call-b@phone', meetingId: 'team-sync', nodeId: 'node-b', caller: '•••9876', codec: 'G722', startedAt: Date.parse('2026-12-06T10:00:00Z') };
  beforeAll(() => store.putCall(elsewhere));
  afterAll(() => store.removeCall(elsewhere.callId));
  const view = { callId: 'call-b@phone', meetingId: 'team-sync', nodeId: 'node-b', caller: '•••9876', codec: 'G722', state: 'answered', startedAt: '2026-12-06T10:00:00.000Z' };

  it('is listed and shown as its record says, with the node that holds it', async () => {
    expect((await api('/calls')).body.calls).toContainEqual(view);
    expect(await api(`/calls/${encodeURIComponent('call-b@phone')}`)).toMatchObject({ status: 200, body: view });
  });

  it('cannot be muted or hung up here: 409 naming its node, and nothing changes', async () => {
    const refused = { error: 'conflict', message: 'call "call-b@phone" is held by gateway node "node-b": ask that node\'s API' };
    expect(await api(`/calls/${encodeURIComponent('call-b@phone')}/mute`, { method: 'POST' })).toMatchObject({ status: 409, body: refused });
    expect(await api(`/calls/${encodeURIComponent('call-b@phone')}`, { method: 'DELETE' })).toMatchObject({ status: 409, body: refused });
    expect(await store.getCall('call-b@phone')).toEqual(elsewhere);
  });
});

describe('GET /api/calls/:callId', () => {
  it('shows one call', async () => {
    expect(await api(`/calls/${encodeURIComponent('call-1@phone')}`)).toMatchObject({ status: 200, body: { callId: 'call-1@phone', quality: QUALITY } });
  });

  it('answers 404 with a message for a call this node does not hold, or no longer', async () => {
    expect(await api('/calls/unknown-call')).toMatchObject({
      status: 404,
      body: { error: 'not_found', message: 'no live call "unknown-call"' },
    });
    await calls.get('call-1@phone')!.close({ by: 'caller', reason: 'BYE' });
    expect((await api(`/calls/${encodeURIComponent('call-1@phone')}`)).status).toBe(404);
  });
});

describe('POST /api/calls/:callId/mute and /unmute', () => {
  const mute = (callId: string, action: 'mute' | 'unmute') => api(`/calls/${encodeURIComponent(callId)}/${action}`, { method: 'POST' });

  it('mutes and unmutes an answered call, answering its view with muted; asked twice, changes nothing the second time', async () => {
    openCall('muted@phone', true);
    expect(await mute('muted@phone', 'mute')).toMatchObject({ status: 200, body: { callId: 'muted@phone', state: 'answered', muted: true } });
    expect(await mute('muted@phone', 'mute')).toMatchObject({ status: 200, body: { muted: true } });
    expect((await api(`/calls/${encodeURIComponent('muted@phone')}`)).body).toMatchObject({ muted: true });
    expect(await mute('muted@phone', 'unmute')).toMatchObject({ status: 200, body: { muted: false } });
    expect(await mute('muted@phone', 'unmute')).toMatchObject({ status: 200, body: { muted: false } });
    expect(muteChanges.get('muted@phone')).toEqual([true, false]);
  });

  it('answers 409 with a message for a call not answered yet', async () => {
    openCall('early@phone', false);
    expect(await mute('early@phone', 'mute')).toMatchObject({
      status: 409,
      body: { error: 'conflict', message: 'call "early@phone" is not answered yet' },
    });
    expect(muteChanges.has('early@phone')).toBe(false);
  });

  it('answers 404 with a message for a call this node does not hold', async () => {
    expect(await mute('unknown-call', 'unmute')).toMatchObject({
      status: 404,
      body: { error: 'not_found', message: 'no live call "unknown-call"' },
    });
  });

  it('needs the API token', async () => {
    expect((await api(`/calls/${encodeURIComponent('muted@phone')}/mute`, { method: 'POST', token: null })).status).toBe(401);
  });
});

describe('DELETE /api/calls/:callId', () => {
  it('hangs up an answered call with a BYE whose Reason is Q.850 cause 16, and a call in set-up with 403', async () => {
    openCall('answered@phone', true);
    openCall('ringing@phone', false);
    expect((await api(`/calls/${encodeURIComponent('answered@phone')}`, { method: 'DELETE' })).status).toBe(204);
    expect(signalled.get('answered@phone')?.bye).toMatchObject({ by: 'gateway', cause: 16, reason: 'hung up through the call API' });
    expect((await api(`/calls/${encodeURIComponent('ringing@phone')}`, { method: 'DELETE' })).status).toBe(204);
    expect(signalled.get('ringing@phone')).toEqual({ status: 403 });
    expect(calls.has('answered@phone')).toBe(false);
    expect((await api('/calls')).body.calls.map((call: { callId: string }) => call.callId)).not.toContain('answered@phone');
  });

  it('answers 404 with a message for a call this node does not hold', async () => {
    expect(await api('/calls/unknown-call', { method: 'DELETE' })).toMatchObject({
      status: 404,
      body: { error: 'not_found', message: 'no live call "unknown-call"' },
    });
  });
});
