/**
 * Replay of recording 10 in real time: a retransmitted INVITE gets the latest provisional
 * again at once and is not forwarded; the 200 is retransmitted 500 ms and 1.5 s after it
 * was first sent while the ACK is withheld; the app sees the 200 once and the ACK once.
 * This is the real-time check of T1 (the full 32 s schedule runs on a manual clock in
 * standin-timers.test.ts).
 * Runs against the stand-in, or a real drachtio-server when TEST_DRACHTIO_ADDRESS is set.
 */
import { describe, expect, it } from 'vitest';
import { replaysPerTest } from '../support/sip/replay.js';

describe('drachtio server replays: retransmissions in real time', () => {
  const replays = replaysPerTest();

  it('10 INVITE retransmissions re-send the 180; the 200 is re-sent at +0.5 s and +1.5 s until the ACK', async () => {
    const replay = await replays.start('10-invite-retransmission-and-200-retransmission', { callIds: ['4eed63141d76@127.0.0.1'] });
    await replay.authenticatedInvite();
    for (const [retransmission, provisional] of [['N8', 'N9'], ['N10', 'N11']] as const) {
      const sentAt = performance.now();
      await replay.send(retransmission);
      const again = await replay.expect(provisional);
      expect(again.at - sentAt).toBeLessThan(100);
    }
    replay.app.release('m-slow');
    const ok = await replay.expect('N12');
    const first = await replay.expect('N13', 1500);
    const second = await replay.expect('N14', 1500);
    expect(first.at - ok.at).toBeGreaterThan(400);
    expect(first.at - ok.at).toBeLessThan(750);
    expect(second.at - ok.at).toBeGreaterThan(1350);
    expect(second.at - ok.at).toBeLessThan(1800);
    await replay.send('N15');
    await replay.app.waitFor((e) => e.kind === 'ack');
    await replay.send('N16');
    await replay.expect('N17');
    await replay.compareWire();
    expect(replay.app.events.filter((e) => e.kind === 'request' && e.method === 'INVITE')).toHaveLength(2);
  });
});
