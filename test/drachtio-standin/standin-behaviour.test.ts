/**
 * Stand-in only: behaviour the recordings did not settle, as the stand-in implements it
 * (see src/drachtio-standin/README.md, "Behaviour the recordings did not settle").
 * These pin the stand-in's choices, so they run against it whatever the environment says.
 */
import { createConnection } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startStandin, type DrachtioTarget } from '../support/sip/drachtio-target.js';
import { ManualScheduler } from '../support/sip/manual-scheduler.js';
import { Replay } from '../support/sip/replay.js';
import { firstLine, header } from '../support/sip/sip-message.js';
import { isRequest, isResponse, SipPeer } from '../support/sip/sip-peer.js';
import { WireClient } from '../support/sip/wire-client.js';

/** Sets up the answered call of recording 08 (digest round, 200, ACK) and returns its replay. */
async function establishedCall(target: DrachtioTarget): Promise<Replay> {
  const replay = await Replay.start(target, '08-dtmf', { callIds: ['3ba0a66aaffc@127.0.0.1'] });
  await replay.authenticatedInvite();
  await replay.send('N8');
  await replay.app.waitFor((e) => e.kind === 'ack');
  return replay;
}

function options(peer: SipPeer, sip: string, extra: { callId: string; branch: string; method?: string; headers?: string[] }): string {
  const method = extra.method ?? 'OPTIONS';
  return [
    `${method} sip:m123@${sip} SIP/2.0`,
    `Via: SIP/2.0/${peer.transport.toUpperCase()} ${peer.hostport};branch=${extra.branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:tester@${peer.hostport}>;tag=t1`,
    `To: <sip:m123@${sip}>`,
    `Call-ID: ${extra.callId}`,
    `CSeq: 1 ${method}`,
    ...(extra.headers ?? []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('drachtio stand-in: behaviour beyond the recordings', () => {
  let target: DrachtioTarget;
  let replay: Replay | undefined;
  const cleanups: Array<() => unknown> = [];

  beforeEach(async () => {
    target = await startStandin();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
    await replay?.close();
    replay = undefined;
    await target.close();
  });

  async function peer(transport: 'udp' | 'tcp' = 'udp'): Promise<SipPeer> {
    const p = transport === 'udp' ? await SipPeer.udp(target.sipAddress) : await SipPeer.tcp(target.sipAddress);
    cleanups.push(() => p.close());
    return p;
  }

  it('answers 503 when no app routes the method (INVITE still gets its 100 Trying first)', async () => {
    const p = await peer();
    const sip = p.targetHostport;
    p.send(options(p, sip, { callId: 'no-app-1', branch: 'z9hG4bKnoapp1' }));
    expect(firstLine((await p.next()).text)).toBe('SIP/2.0 503 Service Unavailable');
    p.send(options(p, sip, { callId: 'no-app-2', branch: 'z9hG4bKnoapp2', method: 'INVITE', headers: ['Contact: <sip:t@127.0.0.1>'] }));
    expect(firstLine((await p.next()).text)).toBe('SIP/2.0 100 Trying');
    const rejected = await p.next();
    expect(firstLine(rejected.text)).toBe('SIP/2.0 503 Service Unavailable');
    expect(header(rejected.text, 'To')).toMatch(/;tag=[A-Za-z0-9]{13}$/);
  });

  it('answers 481 to a CANCEL matching no INVITE, and to a request with a To tag matching no dialog', async () => {
    const p = await peer();
    const sip = p.targetHostport;
    p.send(options(p, sip, { callId: 'stray-cancel', branch: 'z9hG4bKstray1', method: 'CANCEL' }));
    expect(firstLine((await p.next()).text)).toBe('SIP/2.0 481 Call/Transaction Does Not Exist');
    p.send(options(p, sip, { callId: 'stray-bye', branch: 'z9hG4bKstray2', method: 'BYE' }).replace(`To: <sip:m123@${sip}>`, `To: <sip:m123@${sip}>;tag=nosuch`));
    expect(firstLine((await p.next()).text)).toBe('SIP/2.0 481 Call/Transaction Does Not Exist');
  });

  it('answers 481 to a CANCEL arriving after the 2xx, and the app hears nothing of it', async () => {
    replay = await establishedCall(target);
    const invite = replay.adapted('N5');
    const cancel = invite
      .replace(/^INVITE /, 'CANCEL ')
      .replace('CSeq: 2 INVITE', 'CSeq: 2 CANCEL')
      .replace(/\r\nContent-Type: [^\r]*/, '')
      .replace(/Content-Length: \d+\r\n\r\n[\s\S]*$/, 'Content-Length: 0\r\n\r\n');
    replay.peer.send(cancel);
    expect(firstLine((await replay.peer.next(isResponse(481, 'CANCEL'))).text)).toBe('SIP/2.0 481 Call/Transaction Does Not Exist');
    await replay.peer.collect(50);
    expect(replay.app.events.filter((e) => e.kind === 'cancel')).toEqual([]);
  });

  it('answers a CANCEL for an INVITE already rejected with 200 only; the app hears nothing of it', async () => {
    replay = await Replay.start(target, '03-invite-auth-answer-bye-by-caller', { callIds: ['d450ce80b8c1bbcb'] });
    await replay.send('N1');
    await replay.expect('N2');
    const challenge = await replay.expect('N3');
    const invite = replay.adapted('N1');
    const cancel = invite
      .replace(/^INVITE /, 'CANCEL ')
      .replace('CSeq: 47152 INVITE', 'CSeq: 47152 CANCEL')
      .replace(/\r\nContent-Type: [^\r]*/, '')
      .replace(/Content-Length: \d+\r\n\r\n[\s\S]*$/, 'Content-Length: 0\r\n\r\n');
    replay.peer.send(cancel);
    const ok = await replay.peer.next(isResponse(200, 'CANCEL'));
    expect(header(ok.text, 'To')).toBe(header(challenge.text, 'To'));
    expect((await replay.peer.collect(100)).filter(isResponse(487))).toEqual([]);
    expect(replay.app.events.filter((e) => e.kind === 'cancel')).toEqual([]);
  });

  it('forwards a CANCEL that arrives before the app responded, with the tag the 200 and the 487 share', async () => {
    const app = await WireClient.authenticated(target.adminAddress, target.secret);
    cleanups.push(() => app.close());
    app.send('00000000-0000-4000-8000-000000000201|route|invite');
    await app.replyTo('00000000-0000-4000-8000-000000000201');
    const p = await peer();
    const sip = p.targetHostport;
    const invite = options(p, sip, { callId: 'early-cancel', branch: 'z9hG4bKearly', method: 'INVITE', headers: ['Contact: <sip:t@127.0.0.1>'] });
    p.send(invite);
    await app.until(() => app.messages.some((m) => m.type === 'sip'));
    const forwarded = app.messages.find((m) => m.type === 'sip')!;
    p.send(invite.replace(/^INVITE /, 'CANCEL ').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL').replace('\r\nContact: <sip:t@127.0.0.1>', ''));
    expect(firstLine((await p.next()).text)).toBe('SIP/2.0 100 Trying');
    const ok = await p.next(isResponse(200, 'CANCEL'));
    const terminated = await p.next(isResponse(487, 'INVITE'));
    expect(header(ok.text, 'To')).toMatch(/;tag=[A-Za-z0-9]{13}$/);
    expect(header(terminated.text, 'To')).toBe(header(ok.text, 'To'));
    await app.until(() => app.messages.filter((m) => m.type === 'sip').length === 2);
    const cancel = app.messages.filter((m) => m.type === 'sip')[1]!;
    expect(cancel.args.slice(0, 1)).toEqual(['network']);
    expect(cancel.args[6]).toBe(forwarded.args[6]);
    expect(cancel.args[1]).toBe(forwarded.args[1]);
    expect(cancel.args[7]).toBe('early-cancel;from-tag=t1');
    expect(cancel.sip?.startsWith('CANCEL ')).toBe(true);
  });

  it('rejects an in-dialog request older than the last one seen with 500 (RFC 3261 12.2.2)', async () => {
    replay = await establishedCall(target);
    await replay.send('N9');
    await replay.expect('N10');
    const stale = replay.adapted('N11').replace('CSeq: 4 INFO', 'CSeq: 1 INFO');
    replay.peer.send(stale);
    expect(firstLine((await replay.peer.next(isResponse(500, 'INFO'))).text)).toBe('SIP/2.0 500 Internal Server Error');
  });

  it('passes a repeated ACK for the same 2xx on to the app, as drachtio-server does, with a transaction id of its own', async () => {
    replay = await establishedCall(target);
    await replay.send('N8');
    await replay.peer.collect(50);
    expect(replay.app.events.filter((e) => e.kind === 'ack')).toHaveLength(2);
    const acks = replay.recorder.frames.filter((f) => f.direction === 'from-server' && f.message.type === 'sip' && f.body.includes('\r\nACK '));
    expect(new Set(acks.map((f) => f.message.args[6])).size).toBe(2);
  });

  it('over TCP: pongs a CRLFCRLF keep-alive with CRLF (RFC 5626)', async () => {
    const socket = createConnection({ host: target.sipAddress.host, port: target.sipAddress.port });
    cleanups.push(() => socket.destroy());
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const reply = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
    socket.write('\r\n\r\n');
    expect(await reply).toBe('\r\n');
  });

  it('over TCP: answers a malformed request with 400, then closes the connection', async () => {
    const socket = createConnection({ host: target.sipAddress.host, port: target.sipAddress.port });
    cleanups.push(() => socket.destroy());
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const closed = new Promise<void>((resolve) => socket.once('end', () => resolve()));
    const local = `127.0.0.1:${socket.localPort}`;
    const sip = `${target.sipAddress.host}:${target.sipAddress.port}`;
    socket.write(
      [`OPTIONS sip:m123@${sip} SIP/2.0`, `Via: SIP/2.0/TCP ${local};branch=z9hG4bKtcpbad`, `From: <sip:t@${local}>;tag=1`, `To: <sip:m123@${sip}>`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n'),
    );
    await closed;
    expect(firstLine(Buffer.concat(chunks).toString())).toBe('SIP/2.0 400 Bad Request');
  });

  it('app side: NOK for requests in an unknown dialog, for an ACK outside any dialog and for unknown message types', async () => {
    const client = await WireClient.authenticated(target.adminAddress, target.secret);
    cleanups.push(() => client.close());
    client.send('00000000-0000-4000-8000-000000000101|sip||nosuch;from-tag=x\r\nBYE sip:placeholder SIP/2.0\r\nContent-Length: 0\r\n\r\n');
    expect((await client.replyTo('00000000-0000-4000-8000-000000000101')).args.slice(1)).toEqual(['NOK', 'Server error: unable to find dialog for dialog id provided']);
    client.send('00000000-0000-4000-8000-000000000102|sip||nosuch;from-tag=x\r\nACK sip:placeholder SIP/2.0\r\nContent-Length: 0\r\n\r\n');
    expect((await client.replyTo('00000000-0000-4000-8000-000000000102')).args.slice(1)).toEqual([
      'NOK',
      'Server error: ACK for non-success final response is automatically generated by server',
    ]);
    client.send('00000000-0000-4000-8000-000000000103|sip||\r\nACK sip:x@127.0.0.1 SIP/2.0\r\nContent-Length: 0\r\n\r\n');
    expect((await client.replyTo('00000000-0000-4000-8000-000000000103')).args.slice(1)).toEqual([
      'NOK',
      'Server error: ACK for non-success final response is automatically generated by server',
    ]);
    client.send('00000000-0000-4000-8000-000000000104|sip|nosuch-txn|\r\nSIP/2.0 200 OK\r\ncseq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n');
    expect((await client.replyTo('00000000-0000-4000-8000-000000000104')).args.slice(1)).toEqual(['NOK', 'Response not sent due to unknown transaction']);
    client.send('00000000-0000-4000-8000-000000000105|bogus');
    expect((await client.replyTo('00000000-0000-4000-8000-000000000105')).args.slice(1)).toEqual(['NOK', 'Unknown message type']);
    await client.until(() => client.ended);
  });

  it('app side: a re-INVITE from the app goes out with CSeq + 1 and the app\'s Contact; the app ACK follows with the same CSeq number', async () => {
    replay = await establishedCall(target);
    const dialog = replay.app.dialogs[0]!;
    const modified = dialog.modify('v=0\r\no=meetgw 1000 1001 IN IP4 127.0.0.1\r\ns=meetgw\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendonly\r\n');
    const reinvite = await replay.peer.next(isRequest('INVITE'));
    expect(header(reinvite.text, 'CSeq')).toBe('3 INVITE');
    // drachtio-srf passes the Contact of its 200 along, so the server does not add its own.
    expect(header(reinvite.text, 'Contact')).toBe(`<sip:${target.sipAddress.host}:${target.sipAddress.port}>`);
    expect(header(reinvite.text, 'Content-Type')).toBe('application/sdp');
    const answer = 'v=0\r\no=rawclient 4242 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 26000 RTP/AVP 0\r\na=recvonly\r\n';
    const copied = ['Via', 'From', 'To', 'Call-ID', 'CSeq'].map((name) => `${name}: ${header(reinvite.text, name)}`);
    replay.peer.send(['SIP/2.0 200 OK', ...copied, `Contact: <sip:alice@${replay.peer.hostport}>`, 'Content-Type: application/sdp', `Content-Length: ${answer.length}`, '', answer].join('\r\n'));
    await expect(modified).resolves.toContain('a=recvonly');
    const ack = await replay.peer.next(isRequest('ACK'));
    expect(header(ack.text, 'CSeq')).toBe('3 ACK');
    expect(header(ack.text, 'Via')).not.toBe(header(reinvite.text, 'Via'));
  });
});

describe('drachtio stand-in: app requests that get no answer', () => {
  it('reports 408 Request Timeout to the app after 64*T1 with no response (manual clock)', async () => {
    const clock = new ManualScheduler();
    const target = await startStandin({ timers: { scheduler: clock } });
    const replay = await establishedCall(target);
    try {
      const dialog = replay.app.dialogs[0]!;
      const outcome = dialog.request({ method: 'INFO', headers: { 'Content-Type': 'application/dtmf-relay' }, body: 'Signal=1\r\nDuration=160\r\n' });
      const info = await replay.peer.next(isRequest('INFO'));
      expect(header(info.text, 'CSeq')).toBe('3 INFO');
      clock.advanceBy(31_999);
      expect((await replay.peer.collect(50)).filter(isRequest('INFO'))).toHaveLength(10);
      clock.advanceBy(1);
      await expect(outcome).resolves.toMatchObject({ status: 408 });
    } finally {
      await replay.close();
      await target.close();
    }
  });
});
