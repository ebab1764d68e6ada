/**
 * The registry of calls: it holds every call from its opening until its close has
 * finished, ends them all at shutdown, and keeps one call per Call-ID.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Call } from '../../src/calls/call.js';
import { type GatewayEnd, Q850, roomEnd } from '../../src/calls/call-end.js';
import { CallRegistry } from '../../src/calls/call-registry.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RecordingMedia, RecordingSignaling } from '../support/calls/recording-parts.js';
import { capturedLogger } from '../support/log-capture.js';

let store: MemoryStore;
let registry: CallRegistry<RecordingSignaling, RecordingMedia>;
const log = capturedLogger('info').log;

beforeEach(() => {
  store = new MemoryStore();
  registry = new CallRegistry();
});

function openCall(callId = 'call-1'): Call<RecordingSignaling, RecordingMedia> {
  return registry.open({ callId, meetingId: 'room-1', signaling: new RecordingSignaling([]), store, log });
}

const RECORD = { nodeId: 'node-1', caller: 'Alice', codec: 'PCMU', startedAt: 0 } as const;
const hangUp: GatewayEnd = { by: 'gateway', reason: 'meeting ended', cause: Q850.normalClearing };

describe('the registry', () => {
  it('closes every call it holds, those being set up too', async () => {
    const settingUp = openCall('a');
    const answered = openCall('b');
    answered.answering();
    await registry.closeAll(roomEnd('gateway shutting down', 'shutdown'));
    expect(settingUp.signaling.rejected?.status).toBe(503);
    expect(answered.signaling.byes.map((bye) => bye.cause)).toEqual([Q850.normalClearing]);
    expect(registry.size).toBe(0);
  });

  it('refuses a second open call with the same Call-ID, and lets a closing one be taken over without removing its successor', async () => {
    const first = openCall();
    expect(() => openCall()).toThrow(RangeError);
    let release!: () => void;
    store.removeCall = () => new Promise((resolve) => (release = () => resolve(true)));
    await first.record(RECORD);
    const closing = first.close(hangUp);
    const second = openCall();
    release();
    await closing;
    expect(registry.get('call-1')).toBe(second);
  });
});
