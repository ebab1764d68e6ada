/**
 * No secret reaches the log: the gateway as a real process (`node --import tsx
 * src/main.ts`) at LOG_LEVEL=trace, connected to the drachtio target, goes through a whole
 * day's flow (the API with its token and a wrong one, a credential minted through it, a
 * challenged INVITE, a wrong guess, a good call with digest, Twilio's signed webhooks and
 * the INVITE with the password they minted), and every line it wrote is searched for every
 * configured secret, minted password, HA1, digest response and signature the run used.
 */
import { createHash } from 'node:crypto';
import twilio from 'twilio';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess } from '../bench/support/gateway-process.js';
import { parseDigest } from '../support/sip/digest.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { firstLine } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isFinalResponse, isResponse } from '../support/sip/sip-peer.js';
import { TwilioWebhooks, twimlVerbs } from '../support/twilio.js';

const API_TOKEN = 'api-token-SECRET-4f1c9a27d3e8b6';
const TWILIO_AUTH_TOKEN = 'twilio-token-SECRET-8b2e7d41';
const SIP_NONCE_SECRET = 'nonce-secret-SECRET-53a9c1e7f0';
const PUBLIC_URL = 'https://gw.example.com';
const MEETING_PIN = '73914628';
const WRONG_PASSWORD = 'wrong-guess-SECRET-Zq8';
const WRONG_API_TOKEN = 'not-the-token-SECRET-61d0';

let target: DrachtioTarget;
let gateway: GatewayProcess;
const logLines: string[] = [];
/** Everything that must never appear in the log, with what it is, for the failure message. */
const secrets = new Map<string, string>();

beforeAll(async () => {
  target = await drachtioTarget();
  gateway = await startGatewayProcess(
    {
      DRACHTIO_ADDRESS: `${target.adminAddress.host}:${target.adminAddress.port}`,
      DRACHTIO_SECRET: target.secret,
      SIP_DOMAIN: target.sipAddress.host,
      RTP_MIN_PORT: '45300',
      RTP_MAX_PORT: '45399',
      API_TOKEN,
      TWILIO_AUTH_TOKEN,
      SIP_NONCE_SECRET,
      PUBLIC_URL,
      LOG_LEVEL: 'trace',
      WEB_ASSETS_DIR: inject('webAssetsDir'),
    },
    (line) => logLines.push(line),
  );
  for (const [name, value] of Object.entries({ API_TOKEN, TWILIO_AUTH_TOKEN, SIP_NONCE_SECRET, DRACHTIO_SECRET: target.secret, MEETING_PIN, WRONG_PASSWORD, WRONG_API_TOKEN })) {
    secrets.set(value, name);
  }
}, 90_000);

afterAll(async () => {
  await gateway?.stop();
  await target?.close();
});

/** A REST call with a bearer token; the answer's status and parsed body. */
async function api<T>(method: string, path: string, body?: unknown, token = API_TOKEN): Promise<{ status: number; body: T }> {
  const response = await fetch(`${gateway.httpUrl}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

const hex = (algorithm: 'md5' | 'sha256', text: string) => createHash(algorithm).update(text).digest('hex');

/** A credential's password and both its HA1s. */
function rememberCredential(what: string, identity: { username: string; password: string }, realm: string): void {
  secrets.set(identity.password, `${what} password`);
  secrets.set(hex('md5', `${identity.username}:${realm}:${identity.password}`), `${what} HA1 (MD5)`);
  secrets.set(hex('sha256', `${identity.username}:${realm}:${identity.password}`), `${what} HA1 (SHA-256)`);
}

/** Challenged, then sent again with credentials (the digest response remembered); the final answer. */
async function invite(peer: SipPeer, caller: SipCaller, identity: { username: string; password: string }, headers: Record<string, string> = {}): Promise<ReceivedSip> {
  caller.invite({ body: PCMU_OFFER(30300), headers });
  const challenge = await peer.next(isResponse(401));
  caller.ackFailure(challenge);
  const authorization = caller.authorization(challenge, identity);
  secrets.set(parseDigest(authorization).response!, 'a digest response');
  caller.invite({ body: PCMU_OFFER(30300), headers, authorization });
  const answer = await peer.next(isFinalResponse, 10_000);
  if (!firstLine(answer.text).startsWith('SIP/2.0 200')) caller.ackFailure(answer);
  return answer;
}

/** Up and then hung up by the caller. */
async function talkAndHangUp(peer: SipPeer, caller: SipCaller, answer: ReceivedSip): Promise<void> {
  caller.inDialog(answer, 'ACK');
  caller.inDialog(answer, 'INFO', { body: 'Signal=5\r\nDuration=160\r\n' });
  await peer.next(isResponse(200, 'INFO'), 5000);
  caller.inDialog(answer, 'BYE');
  await peer.next(isResponse(200, 'BYE'), 5000);
}

it('writes no configured secret, minted password, HA1, digest response or signature to any log line of a whole run', { timeout: 90_000 }, async () => {
  const realm = target.sipAddress.host;
  const sipUri = (meetingId: string) => `sip:${meetingId}@${target.sipAddress.host}:${target.sipAddress.port}`;

  // The API: a wrong token is refused, the right one creates a meeting and mints a credential, shown once.
  expect((await api('GET', '/meetings', undefined, WRONG_API_TOKEN)).status).toBe(401);
  const meeting = await api<{ dialInCode: string }>('POST', '/meetings', { id: 'secret-run', pin: MEETING_PIN });
  expect(meeting.status).toBe(201);
  const minted = await api<{ username: string; password: string }>('POST', '/sip-credentials', { meetingId: 'secret-run' });
  expect(minted.status).toBe(201);
  rememberCredential('API-minted', minted.body, realm);
  const listed = await api<unknown[]>('GET', '/sip-credentials');
  expect(JSON.stringify(listed.body)).not.toContain(minted.body.password);

  const peer = await SipPeer.udp(target.sipAddress);
  try {
    // A wrong guess, then the good call.
    const guess = await invite(peer, new SipCaller(peer, sipUri('secret-run')), { username: minted.body.username, password: WRONG_PASSWORD });
    expect(firstLine(guess.text)).toBe('SIP/2.0 403 Wrong Credentials');
    const caller = new SipCaller(peer, sipUri('secret-run'));
    const answer = await invite(peer, caller, minted.body);
    expect(firstLine(answer.text)).toBe('SIP/2.0 200 OK');
    await talkAndHangUp(peer, caller, answer);

    // Twilio: signed webhooks (one with a forged signature), the IVR with the PIN, and the INVITE with the password it minted.
    const twilioSide = new TwilioWebhooks(gateway.httpUrl, PUBLIC_URL, TWILIO_AUTH_TOKEN);
    const call = { CallSid: 'CA5ec2e7500000000000000000000000ab', From: '+15005550006', To: '+14155550100', AccountSid: 'AC0' };
    const post = (url: string, params: Record<string, string>) => {
      secrets.set(twilio.getExpectedTwilioSignature(TWILIO_AUTH_TOKEN, url, params), 'an X-Twilio-Signature');
      return twilioSide.follow(url, params);
    };
    const forged = await twilioSide.post('/twilio/voice', call, { signature: 'Zm9yZ2VkLXNpZ25hdHVyZQ==' });
    expect(forged.status).toBe(403);
    const askMeeting = twimlVerbs((await post(`${PUBLIC_URL}/twilio/voice`, call)).text)[0]!;
    const askPin = twimlVerbs((await post(askMeeting.attributes.action!, { ...call, Digits: meeting.body.dialInCode })).text)[0]!;
    const [, dial] = twimlVerbs((await post(askPin.attributes.action!, { ...call, Digits: MEETING_PIN })).text);
    const sip = dial!.children[0]!;
    const twilioIdentity = { username: sip.attributes.username!, password: sip.attributes.password! };
    rememberCredential('Twilio-minted', twilioIdentity, realm);
    const [requestUri, query = ''] = sip.text.split('?');
    const uriHeaders = Object.fromEntries(query.split('&').map((pair) => pair.split('=').map(decodeURIComponent) as [string, string]));
    const twilioCaller = new SipCaller(peer, requestUri!);
    const twilioAnswer = await invite(peer, twilioCaller, twilioIdentity, { ...uriHeaders, 'X-Twilio-CallSid': 'CA5ec2e75000000000000000000000dial' });
    expect(firstLine(twilioAnswer.text)).toBe('SIP/2.0 200 OK');
    await talkAndHangUp(peer, twilioCaller, twilioAnswer);
  } finally {
    await peer.close();
  }
  await gateway.stop();

  // The run was logged (so the search below searched something), at every level down to trace.
  const parsed = logLines.flatMap((line) => {
    try {
      return [JSON.parse(line) as { level: number; msg: string }];
    } catch {
      return [];
    }
  });
  expect(parsed.filter((line) => line.msg === 'call answered')).toHaveLength(2);
  expect(parsed.some((line) => line.msg === 'Twilio webhook refused: X-Twilio-Signature does not match')).toBe(true);
  expect(parsed.some((line) => line.level === 10 || line.level === 20)).toBe(true);
  const leaks = [...secrets].flatMap(([secret, what]) => {
    const line = logLines.find((text) => text.includes(secret));
    return line === undefined ? [] : [`${what} in: ${line}`];
  });
  expect(leaks).toEqual([]);
});
