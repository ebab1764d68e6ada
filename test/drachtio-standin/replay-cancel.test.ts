/**
 * Replays of recordings 06 (CANCEL while ringing) and 06b (CANCEL, then the app answers
 * anyway): the server answers the CANCEL with 200 and the INVITE with 487 by itself, hands
 * the CANCEL to the app with the INVITE's transaction id and size, absorbs the ACK, and
 * refuses the late answer with NOK without sending anything.
 * Runs against the stand-in, or a real drachtio-server when TEST_DRACHTIO_ADDRESS is set.
 */
import { describe, expect, it } from 'vitest';
import { type Replay, replaysPerTest } from '../support/sip/replay.js';

describe('drachtio server replays: CANCEL', () => {
  const replays = replaysPerTest();

  async function ringing(name: string, callId: string): Promise<Replay> {
    const r = await replays.start(name, { callIds: [callId] });
    await r.authenticatedInvite();
    return r;
  }

  it('06 CANCEL before the answer: 200 to the CANCEL and 487 from the stack, app gets the CANCEL, ACK absorbed, app stays silent', async () => {
    const replay = await ringing('06-cancel-before-answer', '1d6f57c5d3b96015');
    await replay.send('N8');
    await replay.expect('N9');
    await replay.expect('N10');
    await replay.send('N11');
    await replay.app.waitFor((e) => e.kind === 'cancel');
    replay.app.release('m-slow');
    await replay.compareWire();
    expect(await replay.peer.collect(100)).toEqual([]);
  });

  it('06b answer after the CANCEL: NOK "Response not sent due to unknown transaction", nothing on the network', async () => {
    const replay = await ringing('06b-cancel-then-late-answer-nok', 'a3a08199bc60f2f7');
    await replay.send('N8');
    await replay.expect('N9');
    await replay.expect('N10');
    await replay.send('N11');
    await replay.app.waitFor((e) => e.kind === 'cancel');
    replay.app.release('m-slow-naive');
    const failed = await replay.app.waitFor((e) => e.kind === 'answer-failed');
    expect(failed).toMatchObject({ error: 'Response not sent due to unknown transaction' });
    await replay.compareWire();
    expect(await replay.peer.collect(100)).toEqual([]);
  });
});
