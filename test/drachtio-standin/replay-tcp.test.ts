/**
 * Replay of recording 12: the 03 flow with the caller on TCP. Responses go back over the
 * caller's connection, rport is its ephemeral port, the Contact on the 200 says
 * transport=tcp, the transport field says tcp, and nothing is retransmitted.
 * Runs against the stand-in, or a real drachtio-server when TEST_DRACHTIO_ADDRESS is set.
 */
import { describe, expect, it } from 'vitest';
import { replaysPerTest } from '../support/sip/replay.js';

describe('drachtio server replays: TCP', () => {
  const replays = replaysPerTest();

  it('12 INVITE over TCP: challenge, answer and caller BYE on one connection', async () => {
    const replay = await replays.start('12-tcp-invite', { callIds: ['fcd126c0a01a07d2'] });
    const ok = await replay.authenticatedInvite();
    await replay.send('N8');
    await replay.app.waitFor((e) => e.kind === 'ack');
    await replay.send('N9');
    await replay.expect('N10');
    await replay.compareWire();
    expect(replay.peer.received.filter((m) => m.text === ok.text)).toHaveLength(1);
  });
});
