/**
 * The whole PSTN path with the test playing Twilio: a signed voice webhook, the IVR's
 * answers, the TwiML's <Dial><Sip>, then the INVITE Twilio would send (its headers taken
 * from the SIP URI, X-Twilio-CallSid naming the dialed leg) with the minted credentials,
 * through drachtio (the stand-in, or a real drachtio-server when TEST_DRACHTIO_ADDRESS,
 * TEST_DRACHTIO_SECRET and TEST_SIP_ADDRESS are set) into the meeting.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway } from '../support/gateway.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { firstLine, header } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isFinalResponse, isResponse } from '../support/sip/sip-peer.js';
import { TwilioWebhooks, twimlVerbs } from '../support/twilio.js';
import { until } from '../support/until.js';

const AUTH_TOKEN = 'twilio-auth-token-e2e-0123';
const PUBLIC_URL = 'https://gw.example.com';
const CALLER = '+15005550006';

let target: DrachtioTarget;
let gateway: Gateway;
let twilioSide: TwilioWebhooks;
let peer: SipPeer | undefined;


beforeAll(async () => {
  target = await drachtioTarget();
  gateway = await startSipTestGateway(target, { TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_URL, RTP_MIN_PORT: '44100', RTP_MAX_PORT: '44199' });
  twilioSide = new TwilioWebhooks(gateway.httpUrl, PUBLIC_URL, AUTH_TOKEN);
});

afterEach(async () => {
  await peer?.close();
  peer = undefined;
});

afterAll(async () => {
  await gateway.close();
  await target.close();
});

interface DialInstruction {
  readonly requestUri: string;
  readonly uriHeaders: Record<string, string>;
  readonly identity: { username: string; password: string };
}

/** What Twilio takes from <Dial><Sip>: the URI it sends the INVITE to, the headers it adds, the credentials it answers a 401 with. */
function dialInstruction(twiml: string): DialInstruction {
  const [, dial] = twimlVerbs(twiml);
  const sip = dial!.children[0]!;
  const [requestUri, query = ''] = sip.text.split('?');
  const uriHeaders = Object.fromEntries(query.split('&').map((pair) => pair.split('=').map(decodeURIComponent) as [string, string]));
  return { requestUri: requestUri!, uriHeaders, identity: { username: sip.attributes.username!, password: sip.attributes.password! } };
}

/** Twilio's INVITE: challenged, then sent again with the credentials. */
async function inviteAsTwilio(instruction: DialInstruction, twilioCallSid: string): Promise<{ caller: SipCaller; answer: ReceivedSip }> {
  peer = await SipPeer.udp(target.sipAddress);
  const caller = new SipCaller(peer, instruction.requestUri);
  const headers = { ...instruction.uriHeaders, 'X-Twilio-CallSid': twilioCallSid, 'X-Twilio-AccountSid': 'AC00000000000000000000000000000000' };
  caller.invite({ body: PCMU_OFFER(30100), headers });
  const challenge = await peer.next(isResponse(401));
  caller.ackFailure(challenge);
  caller.invite({ body: PCMU_OFFER(30100), headers, authorization: caller.authorization(challenge, instruction.identity) });
  const answer = await peer.next(isFinalResponse);
  if (!firstLine(answer.text).startsWith('SIP/2.0 200')) caller.ackFailure(answer);
  return { caller, answer };
}

describe('a PSTN caller through Twilio', () => {
  it('is asked the meeting id and PIN, dials in with the minted credentials and joins the meeting; a second INVITE with them gets 403', async () => {
    const meeting = await gateway.meetings.create({ id: 'pstn-standup', pin: '1357' });
    const call = { CallSid: 'CA0123456789abcdef0123456789abcdef', From: CALLER, To: '+14155550100', AccountSid: 'AC0' };

    const askMeeting = twimlVerbs((await twilioSide.post('/twilio/voice', call)).text)[0]!;
    const askPin = twimlVerbs((await twilioSide.follow(askMeeting.attributes.action!, { ...call, Digits: meeting.dialInCode! })).text)[0]!;
    const dialAnswer = await twilioSide.follow(askPin.attributes.action!, { ...call, Digits: '1357' });
    const instruction = dialInstruction(dialAnswer.text);
    expect(instruction.requestUri).toBe(`sip:pstn-standup@${target.sipAddress.host}`);
    expect(instruction.uriHeaders).toEqual({ 'X-Webhook-CallSid': call.CallSid, 'X-Caller-Number': CALLER });

    // Twilio's X-Twilio-CallSid names the leg it dials, a call of its own.
    const { caller, answer } = await inviteAsTwilio(instruction, 'CAfedcba9876543210fedcba9876543210');
    expect(firstLine(answer.text)).toBe('SIP/2.0 200 OK');
    caller.inDialog(answer, 'ACK');
    // The caller joins the meeting, and the call is recorded, once the ACK is in.
    await until(async () => (await gateway.store.listCalls('pstn-standup')).length === 1, 3000, 'the call up');
    const room = (await gateway.rooms.existing('pstn-standup'))!;
    expect(room.views()).toContainEqual(expect.objectContaining({ kind: 'phone', displayName: '•••0006' }));
    expect(await gateway.store.listCalls('pstn-standup')).toHaveLength(1);
    expect(await gateway.sipCredentials.lookup(instruction.identity.username)).toBeUndefined();

    const again = await inviteAsTwilio(instruction, 'CAfedcba9876543210fedcba9876543210');
    // Spent and deleted: to the SIP side it is now an unknown username.
    expect(firstLine(again.answer.text)).toBe('SIP/2.0 403 Wrong Credentials');

    caller.inDialog(answer, 'BYE');
    await until(() => !gateway.sip.calls.has(caller.callId), 3000, 'the call to end');
  });

  it('refuses with 403 and a Warning the credentials of another Twilio call', async () => {
    await gateway.meetings.create({ id: '7770001111' });
    await gateway.phoneNumbers.assign('+14155550177', '7770001111');
    const call = { CallSid: 'CA11111111111111111111111111111111', From: CALLER, To: '+14155550177' };
    const instruction = dialInstruction((await twilioSide.post('/twilio/voice', call)).text);
    const { answer } = await inviteAsTwilio({ ...instruction, uriHeaders: {} }, 'CA22222222222222222222222222222222');
    expect(firstLine(answer.text)).toBe('SIP/2.0 403 Forbidden');
    expect(header(answer.text, 'Warning')).toMatch(/"credential was minted for another Twilio call"$/);
  });
});
