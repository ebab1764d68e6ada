import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  type SessionTimerDeal,
  SessionTimer,
  SessionTimerHeaderError,
  allowsUpdate,
  answeredRefreshDeal,
  expiryDelayMs,
  negotiateRefresh,
  negotiateSessionTimer,
  readSessionTimerRequest,
  refreshDelayMs,
  refreshRequestHeaders,
  sessionTimerResponseHeaders,
} from '../../src/sip/session-timer.js';
import { VirtualTime } from '../support/virtual-time.js';

const headers = (values: Record<string, string>) => ({ get: (name: string) => values[Object.keys(values).find((key) => key.toLowerCase() === name.toLowerCase()) ?? ''] });
const settings = { minSE: 90, sessionExpires: 1800 };

describe('readSessionTimerRequest', () => {
  it.each([
    [{}, { sessionExpires: undefined, refresher: undefined, minSE: undefined, supportsTimer: false }],
    [{ 'Session-Expires': '1800' }, { sessionExpires: 1800, refresher: undefined, minSE: undefined, supportsTimer: false }],
    [{ 'Session-Expires': '1800;refresher=uac', Supported: 'replaces, timer' }, { sessionExpires: 1800, refresher: 'uac', supportsTimer: true }],
    [{ 'Session-Expires': '600 ; Refresher = UAS', 'Min-SE': '120', Require: 'timer' }, { sessionExpires: 600, refresher: 'uas', minSE: 120, supportsTimer: true }],
    [{ x: '300;refresher=uac', k: 'timer' }, { sessionExpires: 300, refresher: 'uac', supportsTimer: true }],
    [{ 'Min-SE': '90;lr' }, { minSE: 90 }],
  ])('reads %j', (request, expected) => {
    expect(readSessionTimerRequest(headers(request))).toMatchObject(expected);
  });

  it.each([[{ 'Session-Expires': 'soon' }], [{ 'Session-Expires': '1800;refresher=proxy' }], [{ 'Min-SE': '-5' }]])(
    'refuses %j with a 400-mapped error naming the header',
    (request) => {
      const read = () => readSessionTimerRequest(headers(request));
      expect(read).toThrow(SessionTimerHeaderError);
      try {
        read();
      } catch (err) {
        expect((err as SessionTimerHeaderError).sipStatus).toBe(400);
        expect((err as Error).message).toMatch(/Session-Expires|Min-SE/);
      }
    },
  );

  it('finds UPDATE in an Allow list', () => {
    expect(allowsUpdate(headers({ Allow: 'INVITE, ACK, BYE, update, INFO' }))).toBe(true);
    expect(allowsUpdate(headers({ Allow: 'INVITE, ACK, BYE' }))).toBe(false);
    expect(allowsUpdate(headers({}))).toBe(false);
  });
});

describe('negotiateSessionTimer (RFC 4028 §9)', () => {
  const ask = (request: Record<string, string>) => negotiateSessionTimer(readSessionTimerRequest(headers(request)), settings);
  it.each([
    ['no timer support, nothing asked: no timer', {}, { kind: 'none' }],
    ['asked below our minimum: 422 with our Min-SE', { 'Session-Expires': '60', Supported: 'timer' }, { kind: 'too-small', minSE: 90 }],
    ['asked below our minimum without timer support: 422 too', { 'Session-Expires': '30' }, { kind: 'too-small', minSE: 90 }],
    ['caller picks uac: uac', { 'Session-Expires': '300;refresher=uac', Supported: 'timer' }, { kind: 'timer', deal: { interval: 300, refresher: 'uac', callerSupportsTimer: true } }],
    ['caller picks uas: uas', { 'Session-Expires': '300;refresher=uas', Supported: 'timer' }, { kind: 'timer', deal: { interval: 300, refresher: 'uas', callerSupportsTimer: true } }],
    ['no refresher, caller supports timer: uac', { 'Session-Expires': '300', Supported: 'timer' }, { kind: 'timer', deal: { interval: 300, refresher: 'uac', callerSupportsTimer: true } }],
    ['asked by a proxy, caller without timer support: uas', { 'Session-Expires': '300' }, { kind: 'timer', deal: { interval: 300, refresher: 'uas', callerSupportsTimer: false } }],
    ['supports timer, asks nothing: ours, refreshed by the caller', { Supported: 'timer' }, { kind: 'timer', deal: { interval: 1800, refresher: 'uac', callerSupportsTimer: true } }],
    ['supports timer, asks nothing, Min-SE above ours: its Min-SE', { Supported: 'timer', 'Min-SE': '3600' }, { kind: 'timer', deal: { interval: 3600, refresher: 'uac' } }],
    ['exactly our minimum: accepted', { 'Session-Expires': '90', Supported: 'timer' }, { kind: 'timer', deal: { interval: 90 } }],
    ['a huge interval: lowered to a day', { 'Session-Expires': '99999999999999999999;refresher=uas', Supported: 'timer' }, { kind: 'timer', deal: { interval: 86_400, refresher: 'uas' } }],
    ['a huge Min-SE, nothing asked: a day', { Supported: 'timer', 'Min-SE': '4294967295' }, { kind: 'timer', deal: { interval: 86_400 } }],
  ])('%s', (_name, request, expected) => {
    expect(ask(request)).toMatchObject(expected);
  });

  it('answers with Session-Expires and Require: timer only to a caller that supports timer', () => {
    expect(sessionTimerResponseHeaders({ interval: 300, refresher: 'uac', callerSupportsTimer: true })).toEqual({ 'Session-Expires': '300;refresher=uac', Require: 'timer' });
    expect(sessionTimerResponseHeaders({ interval: 300, refresher: 'uas', callerSupportsTimer: false })).toEqual({ 'Session-Expires': '300;refresher=uas' });
  });
});

describe('refreshes', () => {
  const current: SessionTimerDeal = { interval: 300, refresher: 'uac', callerSupportsTimer: true };
  const refresh = (request: Record<string, string>) => negotiateRefresh(readSessionTimerRequest(headers(request)), current, settings);

  it.each([
    ['no Session-Expires: the session goes on as it was', {}, { kind: 'timer', deal: current }],
    ['a new interval, no refresher: the current refresher stays', { 'Session-Expires': '600' }, { kind: 'timer', deal: { ...current, interval: 600 } }],
    ['the caller hands refreshing to us', { 'Session-Expires': '600;refresher=uas' }, { kind: 'timer', deal: { ...current, interval: 600, refresher: 'uas' } }],
    ['below our minimum: 422', { 'Session-Expires': '10' }, { kind: 'too-small', minSE: 90 }],
    ['a huge interval: lowered to a day', { 'Session-Expires': '4294967296' }, { kind: 'timer', deal: { ...current, interval: 86_400 } }],
  ])('%s', (_name, request, expected) => {
    expect(refresh(request)).toEqual(expected);
  });

  it('names us uac in the refresh we send, and reads the answer in those roles', () => {
    const ours: SessionTimerDeal = { interval: 300, refresher: 'uas', callerSupportsTimer: true };
    expect(refreshRequestHeaders(ours, 90)).toEqual({ 'Session-Expires': '300;refresher=uac', 'Min-SE': '90', Supported: 'timer' });
    expect(answeredRefreshDeal(headers({ 'Session-Expires': '400;refresher=uac' }), ours)).toEqual({ ...ours, interval: 400, refresher: 'uas' });
    expect(answeredRefreshDeal(headers({ 'Session-Expires': '400;refresher=uas' }), ours)).toEqual({ ...ours, interval: 400, refresher: 'uac' });
    expect(answeredRefreshDeal(headers({}), ours)).toBe(ours);
    expect(answeredRefreshDeal(headers({ 'Session-Expires': '4294967295' }), ours).interval).toBe(86_400);
  });
});

describe('SessionTimer (RFC 4028 §10)', () => {
  it.each([
    [90, 45_000, 60_000],
    [1800, 900_000, 1_768_000],
    [3, 1_500, 2_000],
  ])('interval %i s: refresh at %i ms, expiry at %i ms', (interval, refresh, expiry) => {
    expect(refreshDelayMs(interval)).toBe(refresh);
    expect(expiryDelayMs(interval)).toBe(expiry);
  });

  function run(deal: SessionTimerDeal) {
    const time = new VirtualTime();
    const events: string[] = [];
    const timer = new SessionTimer(deal, { refreshDue: () => events.push(`refresh@${time.now()}`), expired: () => events.push(`expired@${time.now()}`) }, time);
    return { time, events, timer };
  }

  it('ends a session the caller does not refresh, once, and never asks us to refresh', () => {
    const { time, events } = run({ interval: 90, refresher: 'uac', callerSupportsTimer: true });
    time.advance(200_000);
    expect(events).toEqual(['expired@60000']);
  });

  it('restarts the interval on every refresh, with the interval that refresh agreed', () => {
    const { time, events, timer } = run({ interval: 90, refresher: 'uac', callerSupportsTimer: true });
    time.advance(50_000);
    timer.refreshed({ interval: 120, refresher: 'uac', callerSupportsTimer: true });
    time.advance(50_000);
    expect(events).toEqual([]);
    time.advance(200_000);
    expect(events).toEqual([`expired@${50_000 + 88_000}`]);
  });

  it('asks us to refresh at half the interval when we are the refresher, and still ends the session if no refresh succeeds', () => {
    const { time, events } = run({ interval: 90, refresher: 'uas', callerSupportsTimer: true });
    time.advance(100_000);
    expect(events).toEqual(['refresh@45000', 'expired@60000']);
  });

  it('does not end a session with a huge asked interval at once (its timers would overflow)', async () => {
    const asked = negotiateSessionTimer(readSessionTimerRequest(headers({ 'Session-Expires': '4294967295;refresher=uac', Supported: 'timer' })), settings);
    if (asked.kind !== 'timer') throw new Error(`expected a timer, got ${asked.kind}`);
    let expired = false;
    const timer = new SessionTimer(asked.deal, { refreshDue: () => undefined, expired: () => (expired = true) });
    await sleep(50);
    timer.stop();
    expect(expired).toBe(false);
  });

  it('does nothing once stopped, refreshed or not', () => {
    const { time, events, timer } = run({ interval: 90, refresher: 'uas', callerSupportsTimer: true });
    timer.stop();
    timer.refreshed({ interval: 90, refresher: 'uas', callerSupportsTimer: true });
    time.advance(500_000);
    expect(events).toEqual([]);
  });
});
