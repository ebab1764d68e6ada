/**
 * A Call's states and its one close(), per state: what it signals, in which order it
 * releases the media, the store record and its registry entry, and its one summary line.
 * The signaling and the media are recording stand-ins (their real ones, SIP and mediasoup,
 * are driven in test/sip/); the store is the real memory store.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { type Call, CallEndedError, type CallObserver } from '../../src/calls/call.js';
import { callObservers } from '../../src/calls/call-observers.js';
import { type CallEnd, type GatewayEnd, Q850, failureEnd, roomEnd } from '../../src/calls/call-end.js';
import { CallRegistry } from '../../src/calls/call-registry.js';
import { GatewayError } from '../../src/errors.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { TimeoutError } from '../../src/timeout.js';
import { RecordingMedia, RecordingSignaling } from '../support/calls/recording-parts.js';
import { capturedLogger } from '../support/log-capture.js';

/** What happened to the call's parts, in order. */
let events: string[];

let store: MemoryStore;
let logs: ReturnType<typeof capturedLogger>;
let registry: CallRegistry<RecordingSignaling, RecordingMedia>;

beforeEach(() => {
  events = [];
  store = new MemoryStore();
  logs = capturedLogger('info');
  registry = new CallRegistry();
});

function openCall(callId = 'call-1'): Call<RecordingSignaling, RecordingMedia> {
  return registry.open({ callId, meetingId: 'room-1', signaling: new RecordingSignaling(events), store, log: logs.log.child({ callId, meetingId: 'room-1' }) });
}

const summaries = () => logs.lines().filter((line) => line.msg === 'call ended');
const RECORD = { nodeId: 'node-1', caller: 'Alice', codec: 'PCMU', startedAt: 0 } as const;
const hangUp: GatewayEnd = { by: 'gateway', reason: 'meeting ended', cause: Q850.normalClearing };

describe('states', () => {
  it('goes setting-up → answered → closing → closed, open until it starts closing', async () => {
    const call = openCall();
    expect([call.state, call.isOpen]).toEqual(['setting-up', true]);
    call.answering();
    expect([call.state, call.isOpen]).toEqual(['answered', true]);
    // With a record to remove, closing takes a moment.
    await call.record(RECORD);
    const closed = call.close(hangUp);
    expect([call.state, call.isOpen, call.signal.aborted]).toEqual(['closing', false, true]);
    await closed;
    expect(call.state).toBe('closed');
  });

  it('is held by its registry from its opening until its close has finished', async () => {
    const call = openCall();
    expect(registry.get('call-1')).toBe(call);
    await call.close(hangUp);
    expect(registry.has('call-1')).toBe(false);
    expect(registry.size).toBe(0);
  });

  it('stops a set-up step that finishes after the call ended, and cannot be answered any more', async () => {
    const call = openCall();
    let finish!: (value: string) => void;
    const step = call.step(new Promise<string>((resolve) => (finish = resolve)));
    await call.close({ by: 'caller', reason: 'CANCEL' });
    finish('looked up');
    await expect(step).rejects.toBeInstanceOf(CallEndedError);
    expect(() => call.answering()).toThrow(CallEndedError);
    await expect(call.record(RECORD)).rejects.toBeInstanceOf(CallEndedError);
    expect(await store.listCalls()).toEqual([]);
  });

  it('releases at once media that opened for a call already ended', async () => {
    const call = openCall();
    await call.close({ by: 'caller', reason: 'CANCEL' });
    const media = new RecordingMedia(events);
    expect(() => call.adoptMedia(media)).toThrow(CallEndedError);
    expect(media.closedWith).toBe('the call ended during set-up');
  });
});

describe('close() before the answer', () => {
  it('answers a CANCEL with 487, releases the media, and logs the end', async () => {
    const call = openCall();
    const media = call.adoptMedia(new RecordingMedia(events));
    await call.close({ by: 'caller', reason: 'CANCEL' });
    expect(events).toEqual(['reject 487', 'media closed']);
    expect(media.closedWith).toBe('caller sent CANCEL');
    expect(summaries()).toEqual([
      expect.objectContaining({ callId: 'call-1', meetingId: 'room-1', state: 'setting-up', endedBy: 'caller', reason: 'CANCEL', status: 487, durationMs: expect.any(Number) }),
    ]);
  });

  it.each<[string, CallEnd, number]>([
    ['a failure with a SIP status', failureEnd(new GatewayError('busy', 'the meeting is full')), 486],
    ['a failure without one (a bug, a failing store)', failureEnd(new Error('Connection is closed.')), 500],
    ['the meeting ending', roomEnd('the meeting ended', 'meeting-ended'), 404],
    ['the media worker dying', roomEnd('media lost', 'media-lost'), 503],
  ])('refuses the INVITE after %s with its status', async (_case, end, status) => {
    const call = openCall();
    await call.close(end);
    expect(call.signaling.rejected?.status).toBe(status);
    expect(call.signaling.byes).toEqual([]);
  });

  it('removes a record whose write was issued, and no other', async () => {
    const recorded = openCall('recorded');
    await recorded.record(RECORD);
    await recorded.close(hangUp);
    expect(await store.listCalls()).toEqual([]);

    const removals: string[] = [];
    store.removeCall = async (callId) => (removals.push(callId), false);
    await openCall('never-recorded').close(hangUp);
    expect(removals).toEqual([]);
  });
});

describe('close() after the answer', () => {
  it.each<[string, GatewayEnd, number]>([
    ['the gateway hanging up', hangUp, Q850.normalClearing],
    ['the media lost', roomEnd('media lost', 'media-lost'), Q850.temporaryFailure],
    ['a timer expiring', failureEnd(new TimeoutError('waiting for the ACK to our 200 OK', 32_000)), Q850.recoveryOnTimerExpiry],
    ['any other failure', failureEnd(new Error('Connection is closed.')), Q850.interworking],
  ])('sends a BYE for %s with its Q.850 cause', async (_case, end, cause) => {
    const call = openCall();
    call.answering();
    await call.close(end);
    expect(call.signaling.byes.map((bye) => bye.cause)).toEqual([cause]);
    expect(call.signaling.rejected).toBeUndefined();
  });

  it('signals first, then releases the media, then forgets the record, then logs once', async () => {
    const call = openCall();
    call.adoptMedia(new RecordingMedia(events));
    await call.record(RECORD);
    call.answering();
    const removeCall = store.removeCall.bind(store);
    store.removeCall = async (callId) => {
      events.push(`record removed, still registered: ${registry.has(callId)}`);
      return removeCall(callId);
    };
    await call.close(hangUp);
    expect(events).toEqual(['bye 16', 'media closed', 'record removed, still registered: true']);
    expect(registry.has('call-1')).toBe(false);
    expect(summaries()).toEqual([expect.objectContaining({ state: 'answered', endedBy: 'gateway', reason: 'meeting ended', cause: 16 })]);
  });

  it('signals nothing when the caller or drachtio ended the dialog', async () => {
    for (const end of [{ by: 'caller', reason: 'BYE' }, { by: 'drachtio', reason: 'ACK timeout' }] as const) {
      const call = openCall(end.by);
      call.answering();
      await call.close(end);
      expect(call.signaling.byes).toEqual([]);
    }
  });

  it('closes once however often and by whomever it is closed', async () => {
    const call = openCall();
    call.adoptMedia(new RecordingMedia(events));
    call.answering();
    await Promise.all([call.close(hangUp), call.close({ by: 'caller', reason: 'BYE' }), call.close(failureEnd(new Error('x')))]);
    expect(events).toEqual(['bye 16', 'media closed']);
    expect(summaries()).toHaveLength(1);
  });

  it('still releases everything when the signaling side throws', async () => {
    const call = openCall();
    const media = call.adoptMedia(new RecordingMedia(events));
    call.answering();
    call.signaling.bye = () => {
      throw new Error('no connection to drachtio');
    };
    await call.close(hangUp);
    expect(media.closedWith).toBe('meeting ended');
    expect(registry.size).toBe(0);
    expect(logs.lines().some((line) => line.msg === 'ending the call on the signaling side failed')).toBe(true);
  });
});

describe('timers', () => {
  const timer = (name: string) => ({ stop: () => events.push(`${name} stopped`) });

  it.each<[string, CallEnd, boolean]>([
    ['a CANCEL before the answer', { by: 'caller', reason: 'CANCEL' }, false],
    ["the caller's BYE", { by: 'caller', reason: 'BYE' }, true],
    ["drachtio-server's ACK timeout", { by: 'drachtio', reason: 'ACK timeout' }, true],
    ['the gateway hanging up', hangUp, true],
  ])('stops every timer it owns, before it signals, when it ends by %s', async (_case, end, answered) => {
    const call = openCall();
    call.adoptTimer(timer('session timer'));
    call.adoptTimer(timer('other timer'));
    if (answered) call.answering();
    await call.close(end);
    expect(events.slice(0, 2)).toEqual(['session timer stopped', 'other timer stopped']);
    await call.close(hangUp);
    expect(events.filter((event) => event.endsWith('stopped'))).toHaveLength(2);
  });

  it('stops at once a timer started for a call that already ended', async () => {
    const call = openCall();
    await call.close(hangUp);
    events.length = 0;
    call.adoptTimer(timer('session timer'));
    expect(events).toEqual(['session timer stopped']);
  });
});

describe('observers', () => {
  /** An observer that notes what it heard, as `<name> <what> <callId> [caller]`. */
  const noting = (name: string, heard: string[]): CallObserver<RecordingSignaling, RecordingMedia> => ({
    ringing: (call) => heard.push(`${name} ringing ${call.callId} ${call.caller}`),
    answered: (call) => heard.push(`${name} answered ${call.callId}`),
    ended: (call, summary) => heard.push(`${name} ended ${call.callId} ${summary.reached}`),
  });

  it('tells every observer, in turn, that the call rang (with its caller), was answered and ended', async () => {
    const heard: string[] = [];
    registry = new CallRegistry(callObservers(noting('metrics', heard), noting('webhooks', heard)));
    const call = openCall();
    expect(call.caller).toBeUndefined();
    call.ringing('•••0123');
    expect(call.caller).toBe('•••0123');
    call.answering();
    await call.close(hangUp);
    expect(heard).toEqual([
      'metrics ringing call-1 •••0123',
      'webhooks ringing call-1 •••0123',
      'metrics answered call-1',
      'webhooks answered call-1',
      'metrics ended call-1 answered',
      'webhooks ended call-1 answered',
    ]);
  });

  /** A ringing call whose 200 OK is on its way: `sent()` is drachtio-server's news that it went out. */
  function answerOnItsWay() {
    const heard: string[] = [];
    registry = new CallRegistry(noting('webhooks', heard));
    const call = openCall();
    call.ringing('•••0123');
    let sent!: () => void;
    const answered = call.sendAnswer(() => new Promise<void>((resolve) => (sent = resolve)));
    return { heard, call, answered, sent: () => sent() };
  }

  it('tells of the answer once our 200 went out, not as it is sent', async () => {
    const { heard, call, answered, sent } = answerOnItsWay();
    expect([call.state, call.answeredAt]).toEqual(['answered', undefined]);
    expect(heard).toEqual(['webhooks ringing call-1 •••0123']);
    sent();
    await answered;
    expect(heard).toEqual(['webhooks ringing call-1 •••0123', 'webhooks answered call-1']);
    expect(call.answeredAt).toEqual(expect.any(Number));
  });

  it('ends never answered, with 487 and no BYE, a call whose CANCEL crossed its 200', async () => {
    const heard: string[] = [];
    registry = new CallRegistry(noting('webhooks', heard));
    const call = openCall();
    call.ringing('•••0123');
    await expect(call.sendAnswer(() => Promise.reject(new Error('unknown transaction')))).rejects.toThrow('unknown transaction');
    call.answerCrossed();
    await call.close({ by: 'caller', reason: 'CANCEL' });
    expect(heard).toEqual(['webhooks ringing call-1 •••0123', 'webhooks ended call-1 setting-up']);
    expect(call.answeredAt).toBeUndefined();
    expect(call.signaling.rejected?.status).toBe(487);
    expect(call.signaling.byes).toEqual([]);
    expect(summaries()).toEqual([expect.objectContaining({ state: 'setting-up', endedBy: 'caller', reason: 'CANCEL', status: 487 })]);
  });

  it('tells answered, then ended, of a call whose close began while its 200 was on its way (the caller\'s ACK and BYE came with the news)', async () => {
    const { heard, call, answered, sent } = answerOnItsWay();
    const closed = call.close({ by: 'caller', reason: 'BYE' });
    sent();
    await expect(answered).rejects.toBeInstanceOf(CallEndedError);
    await closed;
    expect(heard).toEqual(['webhooks ringing call-1 •••0123', 'webhooks answered call-1', 'webhooks ended call-1 answered']);
    expect(call.answeredAt).toEqual(expect.any(Number));
  });

  it('cannot send an answer once ended', async () => {
    const call = openCall();
    await call.close(hangUp);
    let sent = false;
    await expect(
      call.sendAnswer(async () => {
        sent = true;
      }),
    ).rejects.toBeInstanceOf(CallEndedError);
    expect(sent).toBe(false);
  });

  it('cannot ring once ended', async () => {
    const call = openCall();
    await call.close(hangUp);
    expect(() => call.ringing('Alice')).toThrow(CallEndedError);
    expect(call.caller).toBeUndefined();
  });
});
