/**
 * Replays of the reference recordings for the everyday flows: 02 OPTIONS (UDP and TCP),
 * 03 INVITE + digest + answer + caller BYE, 04 wrong password, 05 unknown meeting,
 * 07 BYE by the app, 08 DTMF INFO, 09 re-INVITE hold/unhold. Every network message the
 * server sends and every wire frame between app and server must equal the recorded one
 * once live ports, Call-IDs, tags and ids are mapped back.
 * Runs against the stand-in, or a real drachtio-server when TEST_DRACHTIO_ADDRESS is set.
 */
import { describe, expect, it } from 'vitest';
import { event } from '../support/sip/recordings.js';
import { replaysPerTest } from '../support/sip/replay.js';
import { header } from '../support/sip/sip-message.js';
import { isResponse } from '../support/sip/sip-peer.js';

describe('drachtio server replays: everyday flows', () => {
  const replays = replaysPerTest();

  it('02 OPTIONS over UDP then TCP: no 100 Trying; forwarded with rport filled; answers completed and re-encoded; transport field per hop', async () => {
    const replay = await replays.start('02-options', { callIds: ['395712146@127.0.0.1', '301986008@127.0.0.1'] });
    await replay.send('N1');
    await replay.expect('N2');
    await replay.send('N3');
    await replay.expect('N4');
    await replay.compareWire();
    expect(replay.peer.received.filter((m) => m.text.startsWith('SIP/2.0 100'))).toHaveLength(0);
  });

  it('02 OPTIONS retransmitted: absorbed, answered again with the same response, the app sees it once', async () => {
    const replay = await replays.start('02-options', { callIds: ['395712146@127.0.0.1'] });
    await replay.send('N1');
    const first = await replay.expect('N2');
    await replay.send('N1');
    const again = await replay.expect('N2');
    expect(again.text).toBe(first.text);
    await replay.peer.collect(50);
    expect(replay.app.events.filter((e) => e.kind === 'request')).toHaveLength(1);
  });

  it('03 INVITE: 100 Trying before the app sees it, 401 challenge, ACK absorbed, answer with Contact and Content-Type, ACK and BYE forwarded', async () => {
    const replay = await replays.start('03-invite-auth-answer-bye-by-caller', { callIds: ['d450ce80b8c1bbcb'] });
    await replay.send('N1');
    const trying = await replay.expect('N2');
    await replay.expect('N3');
    const firstInvite = await replay.app.waitFor((e) => e.kind === 'request' && e.method === 'INVITE');
    expect(trying.at).toBeLessThan(firstInvite.at);
    await replay.send('N4');
    await replay.send('N5');
    await replay.expect('N6');
    await replay.expect('N7');
    await replay.send('N8');
    await replay.app.waitFor((e) => e.kind === 'ack');
    await replay.send('N9');
    await replay.expect('N10');
    await replay.app.waitFor((e) => e.kind === 'destroy');
    await replay.compareWire();
  });

  it('04 wrong password: 401 then 403, both ACKs absorbed', async () => {
    const replay = await replays.start('04-invite-wrong-password', { callIds: ['1a57a51a3fdc751d'], password: 'wrongpass' });
    await replay.authenticatedInvite();
    await replay.send('N8');
    await replay.compareWire();
    expect(await replay.peer.collect(100)).toEqual([]);
  });

  it('05 unknown meeting: custom reason phrase kept, dialog id on the echo, ACK absorbed', async () => {
    const replay = await replays.start('05-invite-unknown-meeting-404', { callIds: ['864410d3d94ab68a'] });
    await replay.send('N1');
    await replay.expect('N2');
    await replay.expect('N3');
    await replay.send('N4');
    await replay.compareWire();
  });

  it('07 BYE by the app: Request-URI = Contact, Via without port, Max-Forwards 70, CSeq + 1, Reason re-encoded; 200 forwarded', async () => {
    const replay = await replays.start('07-bye-by-app', { callIds: ['e838154566ab5a9d'] });
    await replay.authenticatedInvite();
    await replay.send('N8');
    await replay.app.waitFor((e) => e.kind === 'ack');
    const hangUp = replay.app.hangUp();
    const bye = await replay.peer.next((m) => m.text.startsWith('BYE '));
    // The recorded BYE's Via has no port because the server listened on 5060.
    const sentBy = replays.target.sipAddress.port === 5060 ? replays.target.sipAddress.host : `${replays.target.sipAddress.host}:${replays.target.sipAddress.port}`;
    expect(header(bye.text, 'Via')).toMatch(new RegExp(`^SIP/2\\.0/UDP ${sentBy.replace(/\./g, '\\.')};rport;branch=z9hG4bK\\w+$`));
    replay.mapping.add(`SIP/2.0/UDP 127.0.0.1;rport`, `SIP/2.0/UDP ${sentBy};rport`);
    replay.mapping.learn(event(replay.recording, 'N9').text!, bye.text);
    expect(replay.mapping.normalize(bye.text)).toBe(event(replay.recording, 'N9').text);
    await replay.send('N10');
    await hangUp;
    await replay.compareWire();
  });

  it('08 DTMF INFO: forwarded in-dialog with body intact, no 100 Trying, 200 echo carries the dialog id', async () => {
    const replay = await replays.start('08-dtmf', { callIds: ['3ba0a66aaffc@127.0.0.1'] });
    await replay.authenticatedInvite();
    await replay.send('N8');
    await replay.app.waitFor((e) => e.kind === 'ack');
    await replay.send('N9');
    await replay.expect('N10');
    await replay.send('N11');
    await replay.expect('N12');
    await replay.send('N13');
    await replay.expect('N14');
    await replay.compareWire();
    const infos = replay.app.events.filter((e) => e.kind === 'info');
    expect(infos.map((e) => (e.kind === 'info' ? e.body : ''))).toEqual(['Signal=5\r\nDuration=160\r\n', 'Signal=#\r\nDuration=160\r\n']);
    expect(replay.peer.received.filter(isResponse(100, 'INFO'))).toHaveLength(0);
  });

  it('09 re-INVITE hold and unhold: 100 Trying with the dialog tag, Contact on the 200, ACKs forwarded with new transaction ids', async () => {
    const replay = await replays.start('09-reinvite-hold', { callIds: ['a5bce220958f@127.0.0.1'] });
    await replay.authenticatedInvite();
    await replay.send('N8');
    await replay.app.waitFor((e) => e.kind === 'ack');
    await replay.send('N9');
    await replay.expect('N10');
    await replay.expect('N11');
    await replay.send('N12');
    await replay.app.waitFor((e) => e.kind === 'ack' && e.cseq === '3 ACK');
    await replay.send('N13');
    await replay.expect('N14');
    await replay.expect('N15');
    await replay.send('N16');
    await replay.app.waitFor((e) => e.kind === 'ack' && e.cseq === '4 ACK');
    await replay.send('N17');
    await replay.expect('N18');
    await replay.compareWire();
    expect(replay.app.events.filter((e) => e.kind === 'modify').map((e) => (e.kind === 'modify' ? e.direction : ''))).toEqual(['sendonly', 'sendrecv']);
  });
});
