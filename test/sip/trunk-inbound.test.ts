/**
 * Calls a trunk sends us, through drachtio (the stand-in, or a real drachtio-server with
 * DRACHTIO_SERVER_BIN): a test UA on the trunk's address (127.0.0.2, 127.0.0.3: other
 * loopback hosts) plays the carrier and is answered without a digest, into the meeting the
 * dialled number is assigned to; the same INVITE from another address is challenged.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway } from '../support/gateway.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { firstLine, header, parseSipMessage, responseTo, type SipRequest } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isFinalResponse, isRequest } from '../support/sip/sip-peer.js';

const CARRIER = '127.0.0.2';
const PBX = '127.0.0.3';
const NUMBER = '+4930123456';

let target: DrachtioTarget;
let gateway: Gateway;
const peers: SipPeer[] = [];

const gatewayUri = (user: string) => `sip:${user}@${target.sipAddress.host}:${target.sipAddress.port}`;

async function peer(address?: string): Promise<SipPeer> {
  const created = await SipPeer.udp(target.sipAddress, address);
  peers.push(created);
  return created;
}

async function api(method: string, path: string, body?: unknown): Promise<number> {
  const response = await fetch(`${gateway.httpUrl}/api${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await response.text();
  return response.status;
}

/** ACKs the 200 and hangs up; the BYE is answered 200. */
async function hangUp(from: SipPeer, caller: SipCaller, answer: ReceivedSip): Promise<void> {
  caller.inDialog(answer, 'ACK');
  caller.inDialog(answer, 'BYE');
  expect(firstLine((await from.next(isFinalResponse)).text)).toBe('SIP/2.0 200 OK');
}

beforeAll(async () => {
  target = await drachtioTarget();
  gateway = await startSipTestGateway(target, { RTP_MIN_PORT: '47600', RTP_MAX_PORT: '47699' });
  await gateway.meetings.create({ id: 'trunk-room' });
  await gateway.meetings.create({ id: 'by-id-room' });
  await gateway.phoneNumbers.assign(NUMBER, 'trunk-room');
  expect(await api('POST', '/trunks', { id: 'carrier', address: `sip:${CARRIER}:5060` })).toBe(201);
});

afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await gateway?.close();
  await target?.close();
});

describe('an INVITE from a trunk', () => {
  it('is answered without a digest, in the meeting the dialled number is assigned to (with or without its +)', async () => {
    for (const dialled of [NUMBER, NUMBER.slice(1)]) {
      const carrier = await peer(CARRIER);
      const caller = new SipCaller(carrier, gatewayUri(dialled));
      caller.invite({ body: PCMU_OFFER(30100) });
      const answer = await carrier.next(isFinalResponse);
      expect(firstLine(answer.text)).toBe('SIP/2.0 200 OK');
      expect(header(answer.text, 'X-Meeting-Id')).toBe('trunk-room');
      await hangUp(carrier, caller, answer);
    }
  });

  it('reaches the meeting whose id is the Request-URI user when no number is assigned', async () => {
    const carrier = await peer(CARRIER);
    const caller = new SipCaller(carrier, gatewayUri('by-id-room'));
    caller.invite({ body: PCMU_OFFER(30102) });
    const answer = await carrier.next(isFinalResponse);
    expect(firstLine(answer.text)).toBe('SIP/2.0 200 OK');
    expect(header(answer.text, 'X-Meeting-Id')).toBe('by-id-room');
    await hangUp(carrier, caller, answer);
  });

  it('is refused with 404 and a Warning for a number no meeting has', async () => {
    const carrier = await peer(CARRIER);
    const caller = new SipCaller(carrier, gatewayUri('+4930999999'));
    caller.invite({ body: PCMU_OFFER(30104) });
    const refusal = await carrier.next(isFinalResponse);
    expect(firstLine(refusal.text)).toBe('SIP/2.0 404 Meeting Not Found');
    expect(header(refusal.text, 'Warning')).toContain('+4930999999');
    caller.ackFailure(refusal);
  });

  it('from another address is challenged like any caller', async () => {
    const stranger = await peer();
    const caller = new SipCaller(stranger, gatewayUri(NUMBER));
    caller.invite({ body: PCMU_OFFER(30106) });
    const challenge = await stranger.next(isFinalResponse);
    expect(firstLine(challenge.text)).toBe('SIP/2.0 401 Unauthorized');
    caller.ackFailure(challenge);
  });

  it('sent by a registering trunk to our registered Contact reaches the meeting of the number in To', async () => {
    const pbx = await peer(PBX);
    expect(await api('POST', '/trunks', { id: 'pbx', address: `sip:${PBX}:${pbx.port}`, username: 'gw-line', password: 'pbx-pass-5Tz1', register: { expires: 60 } })).toBe(201);
    const register = await pbx.next(isRequest('REGISTER'), 5000);
    pbx.send(responseTo(parseSipMessage(register.text) as SipRequest, 200, 'OK', { extraHeaders: ['Expires: 60'] }));
    const contact = /<([^>]+)>/.exec(header(register.text, 'Contact') ?? '')?.[1] ?? '';
    expect(contact).toMatch(/^sip:gw-line@/);

    const caller = new SipCaller(pbx, contact, `sip:${NUMBER}@${PBX}`);
    caller.invite({ body: PCMU_OFFER(30108) });
    const answer = await pbx.next(isFinalResponse);
    expect(firstLine(answer.text)).toBe('SIP/2.0 200 OK');
    expect(header(answer.text, 'X-Meeting-Id')).toBe('trunk-room');
    await hangUp(pbx, caller, answer);
    expect(await api('DELETE', '/trunks/pbx')).toBe(204);
    const unregister = await pbx.next(isRequest('REGISTER'));
    pbx.send(responseTo(parseSipMessage(unregister.text) as SipRequest, 200, 'OK'));
  });
});
