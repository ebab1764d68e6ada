/**
 * The orderings around an answered INVITE, checked the same way against the stand-in and
 * a real drachtio-server (DRACHTIO_SERVER_BIN): what the caller and the app see, and in
 * which order, when the caller acts right after the 200 OK. The README ("When the app
 * hears of its 200") records what was compared and the result.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DrachtioTarget, drachtioTarget, usingRealDrachtio } from '../support/sip/drachtio-target.js';
import { ScenarioApp } from '../support/sip/scenario-app.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { firstLine, header } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isFinalResponse, isRequest, isResponse } from '../support/sip/sip-peer.js';
import { type WireFrame, WireRecorder } from '../support/sip/wire-recorder.js';

let target: DrachtioTarget;
let recorder: WireRecorder;
let app: ScenarioApp;
let peer: SipPeer;

beforeEach(async () => {
  target = await drachtioTarget();
  recorder = await WireRecorder.start(target.adminAddress);
  app = await ScenarioApp.connect(recorder.address, target.secret);
  await recorder.routeTaken('invite');
  peer = await SipPeer.udp(target.sipAddress);
});

afterEach(async () => {
  await peer?.close();
  app?.disconnect();
  await recorder?.close();
  await target?.close();
});

/** The INVITE with credentials the caller sent last, as sent. */
let lastInvite = '';

/** INVITE, 401, ACK, INVITE with credentials: returns the 200 OK the caller received. */
async function answeredCall(caller: SipCaller): Promise<ReceivedSip> {
  caller.invite({ body: PCMU_OFFER(30040) });
  const challenge = await peer.next(isResponse(401));
  caller.ackFailure(challenge);
  lastInvite = caller.invite({ body: PCMU_OFFER(30040), authorization: caller.authorization(challenge, { username: 'alice', password: 's3cret' }) });
  return peer.next(isResponse(200, 'INVITE'));
}

const isEchoOf200 = (f: WireFrame) => f.direction === 'from-server' && f.message.type === 'response' && /\r\nSIP\/2\.0 200 OK\r\n[\s\S]*CSeq: \d+ INVITE/.test(f.body);
const isSipToApp = (method: string) => (f: WireFrame) => f.direction === 'from-server' && f.message.type === 'sip' && f.body.includes(`\r\n${method} `);

describe('around the answer', () => {
  it('the caller has the 200 OK before the app hears it was sent, and the app hears it before anything the caller sends next', async () => {
    const caller = new SipCaller(peer, `sip:m123@${target.sipAddress.host}:${target.sipAddress.port}`);
    const answered = await answeredCall(caller);
    caller.inDialog(answered, 'ACK');
    caller.inDialog(answered, 'INFO', { body: 'Signal=5\r\nDuration=160\r\n' });
    expect(firstLine((await peer.next(isResponse(200, 'INFO'))).text)).toBe('SIP/2.0 200 OK');

    const echo = await recorder.waitFor(isEchoOf200);
    const ack = await recorder.waitFor(isSipToApp('ACK'));
    const info = await recorder.waitFor(isSipToApp('INFO'));
    const order = (f: WireFrame) => recorder.frames.indexOf(f);
    expect(order(echo)).toBeLessThan(order(ack));
    expect(order(ack)).toBeLessThan(order(info));
    // drachtio-server sends the 200 before its echo; the stand-in holds the echo until the ACK.
    if (!usingRealDrachtio()) expect(answered.at).toBeLessThan(echo.at);
  });

  it('an ACK and a BYE sent together reach the app after the news of the 200, in order, and the BYE is answered 200', async () => {
    const caller = new SipCaller(peer, `sip:m123@${target.sipAddress.host}:${target.sipAddress.port}`);
    const answered = await answeredCall(caller);
    caller.inDialog(answered, 'ACK');
    caller.inDialog(answered, 'BYE');
    expect(firstLine((await peer.next(isResponse(200, 'BYE'))).text)).toBe('SIP/2.0 200 OK');
    const order = (f: WireFrame) => recorder.frames.indexOf(f);
    const [echo, ack, bye] = await Promise.all([recorder.waitFor(isEchoOf200), recorder.waitFor(isSipToApp('ACK')), recorder.waitFor(isSipToApp('BYE'))]);
    expect(order(echo)).toBeLessThan(order(ack));
    expect(order(ack)).toBeLessThan(order(bye));
  });

  it('a BYE without an ACK: the app hears of the 200 first, then the BYE; the BYE is answered 200 and the 200 OK is no longer re-sent', async () => {
    const caller = new SipCaller(peer, `sip:m123@${target.sipAddress.host}:${target.sipAddress.port}`);
    const answered = await answeredCall(caller);
    caller.inDialog(answered, 'BYE');
    expect(firstLine((await peer.next(isResponse(200, 'BYE'))).text)).toBe('SIP/2.0 200 OK');
    const order = (f: WireFrame) => recorder.frames.indexOf(f);
    const [echo, bye] = await Promise.all([recorder.waitFor(isEchoOf200), recorder.waitFor(isSipToApp('BYE'))]);
    expect(order(echo)).toBeLessThan(order(bye));
    // Over UDP a 2xx is re-sent from T1 (500 ms) until the ACK: none after the BYE.
    await sleep(1700);
    const resent = peer.received.filter((m) => m.at > answered.at && isResponse(200, 'INVITE')(m));
    expect(resent).toEqual([]);
  });

  it('a CANCEL after the 200 OK is answered 481 and the app hears nothing of it', async () => {
    const caller = new SipCaller(peer, `sip:m123@${target.sipAddress.host}:${target.sipAddress.port}`);
    const answered = await answeredCall(caller);
    caller.cancel();
    expect(firstLine((await peer.next(isResponse(481, 'CANCEL'))).text)).toBe('SIP/2.0 481 Call/Transaction Does Not Exist');
    caller.inDialog(answered, 'ACK');
    await recorder.waitFor(isSipToApp('ACK'));
    expect(recorder.frames.some(isSipToApp('CANCEL'))).toBe(false);
    expect(app.events.some((e) => e.kind === 'cancel')).toBe(false);
  });

  it('a caller that re-sends its INVITE after the 200 gets the 200 again', async () => {
    const caller = new SipCaller(peer, `sip:m123@${target.sipAddress.host}:${target.sipAddress.port}`);
    const answered = await answeredCall(caller);
    peer.send(lastInvite);
    const again = await peer.next((m) => m !== answered && isResponse(200, 'INVITE')(m));
    expect(again.text).toBe(answered.text);
    caller.inDialog(answered, 'ACK');
    caller.inDialog(answered, 'BYE');
    await peer.next(isResponse(200, 'BYE'));
    expect(peer.received.some(isRequest('BYE'))).toBe(false);
  });

  it('every ACK in the dialog reaches the app, re-sent as it was or with a new branch: the first with the INVITE\'s transaction id, the others with ids of their own', async () => {
    const caller = new SipCaller(peer, `sip:m123@${target.sipAddress.host}:${target.sipAddress.port}`);
    const answered = await answeredCall(caller);
    const ack = caller.inDialog(answered, 'ACK');
    peer.send(ack);
    await sleep(100);
    caller.inDialog(answered, 'ACK');
    caller.inDialog(answered, 'BYE');
    await peer.next(isResponse(200, 'BYE'));
    await recorder.waitFor(isSipToApp('BYE'));
    const transactionIds = recorder.frames.filter(isSipToApp('ACK')).map((f) => f.message.args[6]);
    const invite = recorder.frames.find((f) => f.direction === 'from-server' && f.message.type === 'sip' && f.body.includes('\r\nINVITE ') && f.body.includes('Authorization'));
    expect(transactionIds).toHaveLength(3);
    expect(transactionIds[0]).toBe(invite?.message.args[6]);
    expect(new Set(transactionIds).size).toBe(3);
  });
});

describe('before the answer', () => {
  it('an INVITE of a call whose earlier INVITE is rejected but not yet ACKed gets 491 and never reaches the app; after the ACK the next one is served', async () => {
    const caller = new SipCaller(peer, `sip:m123@${target.sipAddress.host}:${target.sipAddress.port}`);
    const finalTo = (cseq: number) => (m: ReceivedSip) => isFinalResponse(m) && header(m.text, 'CSeq') === `${cseq} INVITE`;
    caller.invite();
    const challenge = await peer.next(finalTo(1));
    const challengedBranch = caller.branch;
    caller.invite();
    const pending = await peer.next(finalTo(2));
    expect(firstLine(pending.text)).toBe('SIP/2.0 491 Request Pending');
    caller.ackFailure(pending);
    caller.branch = challengedBranch;
    caller.ackFailure(challenge);
    await sleep(200);
    caller.invite();
    expect(firstLine((await peer.next(finalTo(3))).text)).toBe('SIP/2.0 401 Unauthorized');
    expect(app.events.filter((e) => e.kind === 'request' && e.method === 'INVITE')).toHaveLength(2);
  });
});
