/**
 * Twilio's voice webhook against the gateway's app: every request signed (or not) the
 * way Twilio signs, every answer parsed as TwiML and checked by its structure.
 */
import type { FastifyInstance } from 'fastify';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TWILIO_CREDENTIAL_TTL_MS } from '../../src/credentials/sip-credentials.js';
import { buildApp } from '../../src/http/app.js';
import { apiClient, type MemoryApp, memoryApp } from '../support/app.js';
import { capturedLogger } from '../support/log-capture.js';
import { StoreLosingMeetings } from '../support/store-faults.js';
import { type TwimlVerb, TwilioWebhooks, type WebhookAnswer, twimlVerbs } from '../support/twilio.js';

const PUBLIC_URL = 'https://gw.example.com';
const SECRETS = {
  API_TOKEN: 'api-token-0123456789abcdef',
  TWILIO_AUTH_TOKEN: 'twilio-auth-token-0123456789',
  DRACHTIO_SECRET: 'drachtio-secret-4242',
  SIP_NONCE_SECRET: 'nonce-secret-0123456789',
};
const MAPPED_NUMBER = '+14155550100';
const PIN_NUMBER = '+14155550111';
const IVR_NUMBER = '+14155550199';

const capture = capturedLogger();
const services: MemoryApp = memoryApp({ ...SECRETS, PUBLIC_URL, SIP_DOMAIN: 'sip.example.com' }, capture.log);
let app: FastifyInstance;
let twilioSide: TwilioWebhooks;
let api: ReturnType<typeof apiClient>;
let callCounter = 0;

const newCall = (from = '+15005550006', to = IVR_NUMBER) => ({ CallSid: `CA${(++callCounter).toString(16).padStart(32, '0')}`, From: from, To: to, AccountSid: 'AC0' });

/** Another app over its own store, configured by `env`; closed when `use` is done. */
async function withApp(env: Record<string, string>, use: (app: FastifyInstance) => Promise<void>): Promise<void> {
  const other = await buildApp(memoryApp(env).deps);
  try {
    await use(other);
  } finally {
    await other.close();
  }
}

function verbs(answer: WebhookAnswer): TwimlVerb[] {
  expect(answer.status).toBe(200);
  expect(answer.contentType).toMatch(/^text\/xml/);
  return twimlVerbs(answer.text);
}

/** The <Gather>'s action, after checking it asks for DTMF ended by "#" with a spoken prompt. */
function gatherAction(answer: WebhookAnswer): { action: string; prompt: string } {
  const [gather, ...rest] = verbs(answer);
  expect(rest).toEqual([]);
  expect(gather).toMatchObject({
    verb: 'Gather',
    attributes: { input: 'dtmf', finishOnKey: '#', method: 'POST', actionOnEmptyResult: 'true' },
  });
  const [say] = gather!.children;
  expect(say).toMatchObject({ verb: 'Say', attributes: { voice: 'Polly.Joanna', language: 'en-US' } });
  return { action: gather!.attributes.action!, prompt: say!.text };
}

function dialed(answer: WebhookAnswer): { uri: string; username: string; password: string } {
  const list = verbs(answer);
  expect(list.map((v) => v.verb)).toEqual(['Say', 'Dial']);
  const [sip, ...others] = list[1]!.children;
  expect(others).toEqual([]);
  expect(sip!.verb).toBe('Sip');
  return { uri: sip!.text, username: sip!.attributes.username!, password: sip!.attributes.password! };
}

function hungUp(answer: WebhookAnswer): string {
  const list = verbs(answer);
  expect(list.map((v) => v.verb)).toEqual(['Say', 'Hangup']);
  return list[0]!.text;
}

beforeAll(async () => {
  app = await buildApp(services.deps);
  api = apiClient(app, SECRETS.API_TOKEN);
  twilioSide = new TwilioWebhooks(app, PUBLIC_URL, SECRETS.TWILIO_AUTH_TOKEN);
  await services.meetings.create({ id: '5550001111' });
  await services.meetings.create({ id: 'board-room', pin: '2468' });
  expect((await api(`/phone-numbers/${MAPPED_NUMBER}`, { method: 'PUT', json: { meetingId: '5550001111' } })).status).toBe(201);
  expect((await api(`/phone-numbers/${PIN_NUMBER}`, { method: 'PUT', json: { meetingId: 'board-room' } })).status).toBe(201);
});

afterAll(async () => {
  await app.close();
});

describe('X-Twilio-Signature', () => {
  const documented = {
    url: 'https://mycompany.com/myapp.php?foo=1&bar=2',
    params: { CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', Digits: '1234', From: '+12349013030', To: '+18005551212' },
  };

  it("accepts Twilio's documented example with the twilio package's validator", () => {
    expect(twilio.validateRequest('12345', '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', documented.url, documented.params)).toBe(true);
  });

  it('rejects the documented signature for a tampered parameter or another URL', () => {
    expect(twilio.validateRequest('12345', '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', documented.url, { ...documented.params, Digits: '1235' })).toBe(false);
    expect(twilio.validateRequest('12345', '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', 'https://mycompany.com/myapp.php?foo=1&bar=3', documented.params)).toBe(false);
  });

  it('answers 403 without TwiML, and logs it, when the header is missing', async () => {
    const call = newCall();
    const answer = await twilioSide.post('/twilio/voice', call, { signature: null });
    expect(answer.status).toBe(403);
    expect(answer.text).not.toContain('<Response');
    expect(JSON.parse(answer.text)).toEqual({ error: 'forbidden', message: 'X-Twilio-Signature header is missing' });
    expect(capture.lines()).toContainEqual(expect.objectContaining({ msg: 'Twilio webhook refused: no X-Twilio-Signature', callSid: call.CallSid }));
  });

  it('answers 403 when a signed parameter was tampered with', async () => {
    const call = newCall(undefined, MAPPED_NUMBER);
    const signature = twilio.getExpectedTwilioSignature(SECRETS.TWILIO_AUTH_TOKEN, `${PUBLIC_URL}/twilio/voice`, call);
    const answer = await twilioSide.post('/twilio/voice', { ...call, From: '+15005550007' }, { signature });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.text).message).toMatch(/^X-Twilio-Signature does not match this request to https:\/\/gw\.example\.com\/twilio\/voice/);
    expect(capture.lines()).toContainEqual(expect.objectContaining({ msg: 'Twilio webhook refused: X-Twilio-Signature does not match', callSid: call.CallSid }));
  });

  it('answers 403 for a signature over another URL (PUBLIC_URL is what Twilio signs)', async () => {
    const answer = await twilioSide.post('/twilio/voice', newCall(undefined, MAPPED_NUMBER), { signedUrl: 'http://127.0.0.1:8080/twilio/voice' });
    expect(answer.status).toBe(403);
  });

  it('accepts a signature over PUBLIC_URL with its default port written out, as some of Twilio\'s back ends sign', async () => {
    const call = newCall(undefined, MAPPED_NUMBER);
    const answer = await twilioSide.post('/twilio/voice', call, { signedUrl: 'https://gw.example.com:443/twilio/voice' });
    expect(answer.status).toBe(200);
  });

  it('answers 403 for a signature made with another auth token', async () => {
    const call = newCall(undefined, MAPPED_NUMBER);
    const signature = twilio.getExpectedTwilioSignature('another-token', `${PUBLIC_URL}/twilio/voice`, call);
    expect((await twilioSide.post('/twilio/voice', call, { signature })).status).toBe(403);
  });

  it('signs the status callback too', async () => {
    const answer = await twilioSide.post('/twilio/status', { CallSid: 'CA77', CallStatus: 'completed' }, { signature: 'bm90IGEgc2lnbmF0dXJl' });
    expect(answer.status).toBe(403);
  });
});

describe('POST /twilio/voice: a called number mapped to a meeting', () => {
  it('dials the meeting straight away with credentials minted for this call', async () => {
    const call = newCall('+15005550006', MAPPED_NUMBER);
    const { uri, username, password } = dialed(await twilioSide.post('/twilio/voice', call));
    expect(uri).toBe(`sip:5550001111@sip.example.com?X-Webhook-CallSid=${call.CallSid}&X-Caller-Number=%2B15005550006`);
    expect(username).toMatch(/^u[a-z2-7]{10}$/);
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);
    const stored = await services.sipCredentials.lookup(username);
    expect(stored).toMatchObject({ meetingId: '5550001111', twilioCall: { callSid: call.CallSid } });
    expect(stored!.twilioCall!.expiresAt - Date.now()).toBeLessThanOrEqual(TWILIO_CREDENTIAL_TTL_MS);
  });

  it('mints different credentials for every call', async () => {
    const first = dialed(await twilioSide.post('/twilio/voice', newCall(undefined, MAPPED_NUMBER)));
    const second = dialed(await twilioSide.post('/twilio/voice', newCall(undefined, MAPPED_NUMBER)));
    expect(second.username).not.toBe(first.username);
    expect(second.password).not.toBe(first.password);
  });

  it('leaves the caller number out of the SIP URI when the caller is anonymous', async () => {
    const { uri } = dialed(await twilioSide.post('/twilio/voice', newCall('anonymous', MAPPED_NUMBER)));
    expect(uri).not.toContain('X-Caller-Number');
  });

  it('still asks for the PIN of a meeting that has one', async () => {
    const { action, prompt } = gatherAction(await twilioSide.post('/twilio/voice', newCall(undefined, PIN_NUMBER)));
    expect(action).toBe(`${PUBLIC_URL}/twilio/voice/pin?meeting=board-room&wrong=0`);
    expect(prompt).toBe('Please enter the meeting PIN, followed by the pound key.');
  });

  it('says the meeting has ended and hangs up when it has', async () => {
    await services.meetings.create({ id: 'over-now' });
    await api('/phone-numbers/+14155550122', { method: 'PUT', json: { meetingId: 'over-now' } });
    await services.meetings.end('over-now');
    expect(hungUp(await twilioSide.post('/twilio/voice', newCall(undefined, '+14155550122')))).toBe('This meeting has ended. Goodbye.');
  });
});

describe('the IVR, as a sequence of signed webhooks', () => {
  it('asks for the meeting id, then dials the meeting with that numeric id', async () => {
    const call = newCall();
    const { action, prompt } = gatherAction(await twilioSide.post('/twilio/voice', call));
    expect(action).toBe(`${PUBLIC_URL}/twilio/voice/meeting-id?wrong=0`);
    expect(prompt).toBe('Welcome. Please enter your meeting ID, followed by the pound key.');
    const { uri } = dialed(await twilioSide.follow(action, { ...call, Digits: '5550001111' }));
    expect(uri).toMatch(/^sip:5550001111@sip\.example\.com\?/);
  });

  it("takes a meeting's dial-in code, asks its PIN, re-asks after a wrong PIN and dials after the right one", async () => {
    const code = (await services.meetings.get('board-room')).dialInCode!;
    const call = newCall('+15005550123');
    const first = gatherAction(await twilioSide.post('/twilio/voice', call));
    const pin = gatherAction(await twilioSide.follow(first.action, { ...call, Digits: code }));
    expect(pin.action).toBe(`${PUBLIC_URL}/twilio/voice/pin?meeting=board-room&wrong=0`);
    const again = gatherAction(await twilioSide.follow(pin.action, { ...call, Digits: '1111' }));
    expect(again.action).toBe(`${PUBLIC_URL}/twilio/voice/pin?meeting=board-room&wrong=1`);
    expect(again.prompt).toBe('That PIN is not correct. Please enter the meeting PIN, followed by the pound key.');
    const { uri } = dialed(await twilioSide.follow(again.action, { ...call, Digits: '2468' }));
    expect(uri).toMatch(/^sip:board-room@sip\.example\.com\?X-Webhook-CallSid=/);
  });

  it('re-prompts a wrong meeting id three times, then says why and hangs up', async () => {
    const call = newCall('+15005550201');
    let { action } = gatherAction(await twilioSide.post('/twilio/voice', call));
    for (let wrong = 1; wrong <= 3; wrong++) {
      const next = gatherAction(await twilioSide.follow(action, { ...call, Digits: '999' }));
      expect(next.action).toBe(`${PUBLIC_URL}/twilio/voice/meeting-id?wrong=${wrong}`);
      expect(next.prompt).toBe('That meeting ID was not found. Please enter your meeting ID, followed by the pound key.');
      action = next.action;
    }
    expect(hungUp(await twilioSide.follow(action, { ...call, Digits: '999' }))).toBe(
      'Sorry, that was not correct. Please check your meeting details and call again. Goodbye.',
    );
  });

  it('counts nothing typed (Twilio posts an empty Digits) as a wrong entry', async () => {
    const call = newCall('+15005550202');
    const { action } = gatherAction(await twilioSide.post('/twilio/voice', call));
    expect(gatherAction(await twilioSide.follow(action, { ...call, Digits: '' })).action).toBe(`${PUBLIC_URL}/twilio/voice/meeting-id?wrong=1`);
    expect(gatherAction(await twilioSide.follow(action, call)).action).toBe(`${PUBLIC_URL}/twilio/voice/meeting-id?wrong=1`);
  });

  it('locks out a caller after 10 wrong entries over several calls, even at the start of a new call', async () => {
    const caller = '+15005550303';
    let wrongEntries = 0;
    let last: WebhookAnswer | undefined;
    while (wrongEntries < 10) {
      const call = newCall(caller);
      let { action } = gatherAction(await twilioSide.post('/twilio/voice', call));
      for (let i = 0; i < 4 && wrongEntries < 10; i++) {
        last = await twilioSide.follow(action, { ...call, Digits: '1' });
        wrongEntries++;
        if (twimlVerbs(last.text)[0]?.verb === 'Gather') action = gatherAction(last).action;
      }
    }
    expect(hungUp(last!)).toBe('There have been too many wrong entries from your number. Please try again later. Goodbye.');
    expect(hungUp(await twilioSide.post('/twilio/voice', newCall(caller)))).toBe(
      'There have been too many wrong entries from your number. Please try again later. Goodbye.',
    );
    gatherAction(await twilioSide.post('/twilio/voice', newCall('+15005550304')));
  });

  it('refuses an IVR state that was not signed (a changed answer URL)', async () => {
    const call = newCall();
    const signature = twilio.getExpectedTwilioSignature(SECRETS.TWILIO_AUTH_TOKEN, `${PUBLIC_URL}/twilio/voice/pin?meeting=board-room&wrong=0`, call);
    const answer = await twilioSide.post('/twilio/voice/pin?meeting=board-room&wrong=1', { ...call, Digits: '2468' }, { signature });
    expect(answer.status).toBe(403);
  });
});

describe('bad input', () => {
  it('answers an oversized body with 400 and no TwiML', async () => {
    const answer = await twilioSide.post('/twilio/voice', { ...newCall(), Padding: 'x'.repeat(20_000) });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toEqual({ error: 'bad_request', message: 'form body is larger than 16384 bytes' });
  });

  it('answers a malformed form body with 400', async () => {
    const answer = await twilioSide.post('/twilio/voice', {}, { rawBody: 'CallSid=CA1&From=%ZZ' });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text).message).toBe('malformed form body: bad percent-encoding in "%ZZ"');
    expect((await twilioSide.post('/twilio/voice', {}, { rawBody: 'CallSid=CA1&garbage' })).status).toBe(400);
  });

  it('answers a body that is not a form with 415', async () => {
    const answer = await twilioSide.post('/twilio/voice', {}, { rawBody: '{"CallSid":"CA1"}', contentType: 'application/json' });
    expect(answer.status).toBe(415);
  });

  it('answers a signed webhook without CallSid with 400', async () => {
    const answer = await twilioSide.post('/twilio/voice', { From: '+15005550006', To: IVR_NUMBER });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text).message).toBe("body must have required property 'CallSid'");
  });

  it('answers a signed answer URL whose state is not ours with 400', async () => {
    expect((await twilioSide.post('/twilio/voice/meeting-id?wrong=x', { ...newCall(), Digits: '1' })).status).toBe(400);
    expect((await twilioSide.post('/twilio/voice/pin?meeting=a%20b&wrong=0', { ...newCall(), Digits: '1' })).status).toBe(400);
  });
});

describe('secrets in TwiML', () => {
  it('never contains a long-lived secret, only a password that dies with its one INVITE', async () => {
    const call = newCall();
    const answers = [await twilioSide.post('/twilio/voice', call)];
    answers.push(await twilioSide.follow(gatherAction(answers[0]!).action, { ...call, Digits: '5550001111' }));
    answers.push(await twilioSide.post('/twilio/voice', newCall(undefined, MAPPED_NUMBER)));
    for (const answer of answers) {
      for (const secret of Object.values(SECRETS)) expect(answer.text).not.toContain(secret);
    }
    const listed = (await api('/sip-credentials')).body.credentials as Array<{ username: string; expiresAt?: string }>;
    for (const { username } of [dialed(answers[1]!), dialed(answers[2]!)]) {
      const entry = listed.find((c) => c.username === username);
      expect(Date.parse(entry!.expiresAt!) - Date.now()).toBeLessThanOrEqual(TWILIO_CREDENTIAL_TTL_MS);
    }
  });
});

describe('POST /twilio/status and GET /api/twilio/calls', () => {
  it("records each call's outcome and Twilio's final status, newest first", async () => {
    const call = newCall('+15005550404', MAPPED_NUMBER);
    dialed(await twilioSide.post('/twilio/voice', call));
    expect((await twilioSide.post('/twilio/status', { ...call, CallStatus: 'completed', CallDuration: '42' })).status).toBe(204);
    await services.meetings.create({ id: 'ended-early' });
    await api('/phone-numbers/+14155550133', { method: 'PUT', json: { meetingId: 'ended-early' } });
    await services.meetings.end('ended-early');
    const turnedAway = newCall('+15005550405', '+14155550133');
    hungUp(await twilioSide.post('/twilio/voice', turnedAway));

    const { body } = await api('/twilio/calls?limit=2');
    expect(body.calls).toEqual([
      {
        callSid: turnedAway.CallSid,
        from: '+15005550405',
        to: '+14155550133',
        meetingId: 'ended-early',
        outcome: 'meeting-ended',
        firstSeenAt: expect.any(String),
        updatedAt: expect.any(String),
      },
      {
        callSid: call.CallSid,
        from: '+15005550404',
        to: MAPPED_NUMBER,
        meetingId: '5550001111',
        outcome: 'dialed',
        status: 'completed',
        durationSeconds: 42,
        firstSeenAt: expect.any(String),
        updatedAt: expect.any(String),
      },
    ]);
  });

  it('answers a status callback without CallStatus with 400', async () => {
    expect((await twilioSide.post('/twilio/status', { CallSid: 'CA1' })).status).toBe(400);
  });

  it('refuses a bad limit with 400', async () => {
    expect((await api('/twilio/calls?limit=0')).status).toBe(400);
  });
});

describe('/api/phone-numbers', () => {
  it('assigns (201), reassigns (200), lists and releases a number', async () => {
    await services.meetings.create({ id: 'numbers-a' });
    await services.meetings.create({ id: 'numbers-b' });
    expect(await api('/phone-numbers/+4930123456', { method: 'PUT', json: { meetingId: 'numbers-a' } })).toMatchObject({
      status: 201,
      body: { number: '+4930123456', meetingId: 'numbers-a' },
    });
    expect(await api('/phone-numbers/%2B4930123456', { method: 'PUT', json: { meetingId: 'numbers-b' } })).toMatchObject({
      status: 200,
      body: { number: '+4930123456', meetingId: 'numbers-b' },
    });
    const { body } = await api('/phone-numbers');
    expect(body.phoneNumbers).toContainEqual(expect.objectContaining({ number: '+4930123456', meetingId: 'numbers-b' }));
    expect((await api('/phone-numbers/+4930123456', { method: 'DELETE' })).status).toBe(204);
    expect(await api('/phone-numbers/+4930123456', { method: 'DELETE' })).toMatchObject({
      status: 404,
      body: { error: 'not_found', message: 'phone number +4930123456 is not assigned to a meeting' },
    });
  });

  it('refuses a number that is not E.164 with 400', async () => {
    expect(await api('/phone-numbers/0301234', { method: 'PUT', json: { meetingId: 'numbers-a' } })).toMatchObject({
      status: 400,
      body: { error: 'bad_request', message: '"0301234" is not an E.164 phone number (a "+", the country code and up to 15 digits, like +14155550100)' },
    });
  });

  it('refuses an unknown meeting with 404 and an ended one with 410', async () => {
    expect((await api('/phone-numbers/+4930123457', { method: 'PUT', json: { meetingId: 'no-such-meeting' } })).status).toBe(404);
    await services.meetings.create({ id: 'numbers-ended' });
    await services.meetings.end('numbers-ended');
    expect((await api('/phone-numbers/+4930123457', { method: 'PUT', json: { meetingId: 'numbers-ended' } })).status).toBe(410);
  });
});

describe('configuration', () => {
  it('with the IVR off, tells a caller of an unmapped number so and hangs up (never a 500)', async () => {
    await withApp({ TWILIO_AUTH_TOKEN: SECRETS.TWILIO_AUTH_TOKEN, PUBLIC_URL, TWILIO_IVR: 'false' }, async (other) => {
      const side = new TwilioWebhooks(other, PUBLIC_URL, SECRETS.TWILIO_AUTH_TOKEN);
      expect(hungUp(await side.post('/twilio/voice', newCall()))).toBe('This number is not connected to a meeting. Goodbye.');
    });
  });

  it('speaks in the configured voice and language', async () => {
    await withApp({ TWILIO_AUTH_TOKEN: SECRETS.TWILIO_AUTH_TOKEN, PUBLIC_URL, TWILIO_VOICE: 'Polly.Marlene', TWILIO_LANGUAGE: 'de-DE' }, async (other) => {
      const side = new TwilioWebhooks(other, PUBLIC_URL, SECRETS.TWILIO_AUTH_TOKEN);
      const [gather] = verbs(await side.post('/twilio/voice', newCall()));
      expect(gather!.children[0]!.attributes).toEqual({ voice: 'Polly.Marlene', language: 'de-DE' });
    });
  });

  it('answers 503 with no TwiML when the meeting cannot be looked up (Twilio then uses its fallback URL), logged once with the CallSid', async () => {
    const store = new StoreLosingMeetings();
    const logs = capturedLogger();
    const failing = memoryApp({ ...SECRETS, PUBLIC_URL }, logs.log, store);
    await failing.meetings.create({ id: 'unreachable' });
    await failing.deps.phoneNumbers.assign(MAPPED_NUMBER, 'unreachable');
    const other = await buildApp(failing.deps);
    try {
      store.failing = true;
      const call = newCall(undefined, MAPPED_NUMBER);
      const answer = await new TwilioWebhooks(other, PUBLIC_URL, SECRETS.TWILIO_AUTH_TOKEN).post('/twilio/voice', call);
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.text)).toEqual({ error: 'unavailable', message: 'the meeting cannot be looked up right now' });
      expect(logs.lines().filter((line) => (line.level as number) >= 50)).toEqual([
        expect.objectContaining({ callSid: call.CallSid, msg: 'meeting lookup failed; the Twilio call cannot be connected' }),
      ]);
    } finally {
      await other.close();
    }
  });

  it('answers 503 while TWILIO_AUTH_TOKEN is not set', async () => {
    await withApp({ PUBLIC_URL }, async (other) => {
      const answer = await new TwilioWebhooks(other, PUBLIC_URL, 'anything').post('/twilio/voice', newCall());
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.text)).toEqual({ error: 'unavailable', message: 'Twilio webhooks are disabled: TWILIO_AUTH_TOKEN is not set' });
    });
  });
});
