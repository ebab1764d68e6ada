/**
 * Replay of recording 11: malformed SIP over UDP handled by the SIP stack alone.
 * No Call-ID → 400 Bad Request (without Call-ID); CSeq "abc" → 400 Bad CSeq Header
 * (without CSeq); CSeq method ≠ method → 400; binary garbage, non-SIP text and a request
 * without Via → silence; Content-Length beyond the datagram → 400; Max-Forwards 0 and a
 * bracket-less From reach the app; a broken SDP body reaches the app untouched.
 * Runs against the stand-in, or a real drachtio-server when TEST_DRACHTIO_ADDRESS is set.
 */
import { describe, expect, it } from 'vitest';
import { replaysPerTest } from '../support/sip/replay.js';

describe('drachtio server replays: malformed input', () => {
  const replays = replaysPerTest();

  it('11 malformed requests: stack replies or silence exactly as recorded; only valid ones reach the app', async () => {
    const replay = await replays.start('11-malformed', {
      callIds: ['43c9b8072d64@127.0.0.1', '8f25f75be3d8@127.0.0.1', '43c25b9bad95@127.0.0.1', 'bd64bc74ef31@127.0.0.1', 'bcb1baa1cb62@127.0.0.1', '5f303f57421e@127.0.0.1', '64ed2b322d8c@127.0.0.1'],
    });
    await replay.send('N1'); // no Call-ID
    await replay.expect('N2');
    await replay.send('N3'); // CSeq: abc OPTIONS
    await replay.expect('N4');
    await replay.send('N5'); // CSeq method INVITE on an OPTIONS
    await replay.expect('N6');
    await replay.send('N7'); // binary garbage
    await replay.send('N8'); // not SIP
    await replay.send('N9'); // no Via
    expect(await replay.peer.collect(150)).toEqual([]);
    await replay.send('N10'); // Content-Length 200, 10 bytes of body
    await replay.expect('N11');
    await replay.send('N12'); // Max-Forwards: 0
    await replay.expect('N13');
    await replay.send('N14'); // From: garbage;tag=x
    await replay.expect('N15');
    await replay.expect('N16');
    await replay.send('N17');
    await replay.send('N18'); // broken SDP
    await replay.expect('N19');
    await replay.expect('N20');
    await replay.send('N21');
    await replay.send('N22');
    await replay.expect('N23');
    await replay.expect('N24');
    await replay.send('N25');
    await replay.compareWire();
    const requests = replay.app.events.filter((e) => e.kind === 'request');
    expect(requests.map((e) => (e.kind === 'request' ? e.method : ''))).toEqual(['OPTIONS', 'INVITE', 'INVITE', 'INVITE']);
  });
});
