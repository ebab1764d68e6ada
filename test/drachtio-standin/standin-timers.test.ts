/**
 * Stand-in only (it needs the stand-in's injectable clock): recordings 10b and 10c replayed
 * on a manual clock, so the whole 2xx retransmission schedule (T1 doubling, capped at T2)
 * and the ACK-timeout BYE at 64*T1 are checked to the millisecond without waiting 32 s.
 * Also the retransmission of an unACKed non-2xx final (timer G) and its end at timer H.
 */
import { describe, expect, it } from 'vitest';
import { startStandin } from '../support/sip/drachtio-target.js';
import { ManualScheduler } from '../support/sip/manual-scheduler.js';
import { event } from '../support/sip/recordings.js';
import { type Replay, replaysPerTest } from '../support/sip/replay.js';
import { firstLine } from '../support/sip/sip-message.js';
import type { ReceivedSip } from '../support/sip/sip-peer.js';

/** Offsets (ms after the first 200) of the recorded retransmissions: 0.5, 1.5, 3.5, 7.5, 11.5 ... 31.5 s. */
const SCHEDULE = [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500];

describe('drachtio stand-in timers on a manual clock', () => {
  let clock: ManualScheduler;
  const replays = replaysPerTest(() => {
    clock = new ManualScheduler();
    return startStandin({ timers: { scheduler: clock } });
  });

  async function answered(name: string, callId: string): Promise<{ replay: Replay; ok: ReceivedSip; sentAt: number }> {
    const r = await replays.start(name, { callIds: [callId] });
    const ok = await r.authenticatedInvite();
    return { replay: r, ok, sentAt: clock.now };
  }

  /** Advances to just before and then to each offset, expecting nothing early and the recorded message on time. */
  async function expectAt(r: Replay, t0: number, offset: number, id: string): Promise<void> {
    clock.advanceTo(t0 + offset - 1);
    expect(await r.peer.collect(25), `nothing before +${offset} ms`).toEqual([]);
    clock.advanceTo(t0 + offset);
    await r.expect(id, 500);
  }

  it('10b: 200 re-sent at +0.5, +1.5, +3.5 s; the ACK at +4 s stops it; no BYE afterwards', async () => {
    const started = await answered('10b-200-retransmission-ack-delay-4s', '7a8dc52cfb84@127.0.0.1');
    const { replay } = started;
    for (const [index, id] of ['N8', 'N9', 'N10'].entries()) await expectAt(replay, started.sentAt, SCHEDULE[index]!, id);
    clock.advanceTo(started.sentAt + 4000);
    await replay.send('N11');
    await replay.app.waitFor((e) => e.kind === 'ack');
    clock.advanceTo(started.sentAt + 40_000);
    expect(await replay.peer.collect(50)).toEqual([]);
    await replay.send('N12');
    await replay.expect('N13');
    await replay.compareWire();
  });

  it('10c: 200 re-sent on the full schedule, then at 64*T1 a BYE with Reason "ACK timeout" and the app told "unsolicited"', async () => {
    const started = await answered('10c-200-never-acked-server-bye', 'f8e0a63c26f8@127.0.0.1');
    const { replay } = started;
    for (const [index, offset] of SCHEDULE.entries()) await expectAt(replay, started.sentAt, offset, `N${8 + index}`);
    clock.advanceTo(started.sentAt + 31_999);
    expect(await replay.peer.collect(25)).toEqual([]);
    clock.advanceTo(started.sentAt + 32_000);
    const bye = await replay.peer.next((m) => m.text.startsWith('BYE '), 500);
    const recordedBye = event(replay.recording, 'N18').text!;
    replay.mapping.add('SIP/2.0/UDP 127.0.0.1;rport', `SIP/2.0/UDP 127.0.0.1:${replays.target.sipAddress.port};rport`);
    replay.mapping.learn(recordedBye, bye.text);
    expect(replay.mapping.normalize(bye.text)).toBe(recordedBye);
    await replay.send('N19');
    const destroyed = await replay.app.waitFor((e) => e.kind === 'destroy');
    expect(destroyed).toMatchObject({ source: 'application', reason: 'ACK timeout' });
    await replay.compareWire();
    // The 200 must be in before the clock jumps, or the BYE would be retransmitted meanwhile.
    expect(await replay.peer.collect(50)).toEqual([]);
    clock.advanceTo(started.sentAt + 100_000);
    expect((await replay.peer.collect(50)).map((m) => firstLine(m.text))).toEqual([]);
  });

  it('an unACKed 401 is retransmitted at +0.5, +1.5, +3.5 s ... and given up at 64*T1', async () => {
    const replay = await replays.start('03-invite-auth-answer-bye-by-caller', { callIds: ['d450ce80b8c1bbcb'] });
    await replay.send('N1');
    await replay.expect('N2');
    await replay.expect('N3');
    const t0 = clock.now;
    const seen: number[] = [];
    for (const offset of [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]) {
      clock.advanceTo(t0 + offset);
      await replay.expect('N3', 500);
      seen.push(clock.now - t0);
    }
    expect(seen).toEqual(SCHEDULE);
    clock.advanceTo(t0 + 32_000);
    clock.advanceTo(t0 + 60_000);
    expect(await replay.peer.collect(50)).toEqual([]);
  });
});
