/**
 * Hostile input on the wire: generated and mutated SIP messages over UDP and TCP through
 * drachtio (the stand-in, or a real drachtio-server with DRACHTIO_SERVER_BIN), signaling
 * frames over a WebSocket, REST requests over HTTP and generated SDP in authenticated
 * INVITEs, to one running gateway. Every case
 * gets a defined answer (a response with a status and reason, an error reply, a JSON 4xx) or
 * the silence RFC 3261 gives it; nothing crashes, no rejection goes unhandled, nothing is
 * logged at error, and afterwards a normal call and a browser join still work.
 * `npm run -s bench:fuzz` runs the same with tens of thousands of cases.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway } from '../support/gateway.js';
import { FUZZ_RUNS, FUZZ_SEED } from '../support/fuzz/fuzz-settings.js';
import { restRequest } from '../support/fuzz/rest-requests.js';
import { sdpBody } from '../support/fuzz/sdp-bodies.js';
import { signalingFrame } from '../support/fuzz/signaling-frames.js';
import { FUZZ_MEETING, sipCase } from '../support/fuzz/sip-messages.js';
import { SipWireFuzzer } from '../support/fuzz/sip-wire.js';
import { SignalingWireFuzzer, runRestCase } from '../support/fuzz/web-wire.js';
import { capturedLogger } from '../support/log-capture.js';
import { type DrachtioTarget, drachtioTarget, usingRealDrachtio } from '../support/sip/drachtio-target.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { firstLine, header } from '../support/sip/sip-message.js';
import { SipPeer, isFinalResponse, isResponse } from '../support/sip/sip-peer.js';
import { SignalingTestClient } from '../support/signaling-client.js';

const capture = capturedLogger('debug');
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let target: DrachtioTarget;
let gateway: Gateway;
let identity: { username: string; password: string };

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  target = await drachtioTarget();
  gateway = await startSipTestGateway(target, { RTP_MIN_PORT: '44100', RTP_MAX_PORT: '44299', TWILIO_AUTH_TOKEN: 'twilio-token-0123456789' }, capture.log);
  await gateway.meetings.create({ id: FUZZ_MEETING });
  await gateway.meetings.create({ id: 'healthy-room' });
  identity = await gateway.sipCredentials.create({});
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await gateway?.close();
  await target?.close();
});

const options = { seed: FUZZ_SEED, numRuns: FUZZ_RUNS.wire };

describe('hostile input on the wire', () => {
  it('SIP over UDP and TCP: a response with a status and reason, or the silence RFC 3261 gives (responses, ACKs, no Via)', async () => {
    const fuzzer = await SipWireFuzzer.open(target.sipAddress, { realServer: usingRealDrachtio() });
    try {
      await fc.assert(
        fc.asyncProperty(sipCase, async (fuzzCase) => {
          expect((await fuzzer.run(fuzzCase)).problem).toBeUndefined();
        }),
        options,
      );
    } finally {
      await fuzzer.close();
    }
  }, 180_000);

  it('SDP in authenticated INVITEs: 200 with an SDP answer, or 400/488 with a Warning saying why', async () => {
    await fc.assert(
      // What one datagram carries (larger bodies are the unit tests' and the framer's).
      fc.asyncProperty(sdpBody.filter((offer) => Buffer.byteLength(offer) < 60_000), async (offer) => {
        const peer = await SipPeer.udp(target.sipAddress);
        try {
          const caller = new SipCaller(peer, `sip:${FUZZ_MEETING}@${target.sipAddress.host}:${target.sipAddress.port}`);
          caller.invite({ body: offer });
          const challenge = await peer.next(isFinalResponse);
          caller.ackFailure(challenge);
          // drachtio-server itself refuses a body with a NUL (400) before the app could challenge it.
          if (!challenge.text.startsWith('SIP/2.0 401 ')) {
            expect(firstLine(challenge.text)).toMatch(/^SIP\/2\.0 400 \S/);
            return;
          }
          caller.invite({ body: offer, authorization: caller.authorization(challenge, identity) });
          const answer = await peer.next(isFinalResponse);
          const status = firstLine(answer.text);
          if (status === 'SIP/2.0 200 OK') {
            caller.inDialog(answer, 'ACK');
            caller.inDialog(answer, 'BYE');
            await peer.next(isResponse(200, 'BYE'));
            expect(answer.text).toMatch(/\r\n\r\nv=0\r\n/);
            return;
          }
          caller.ackFailure(answer);
          expect(status).toMatch(/^SIP\/2\.0 (400|488) \S/);
          expect(header(answer.text, 'Warning')).toMatch(/^3\d\d \S+ ".+"$/);
        } finally {
          await peer.close();
        }
      }),
      { ...options, numRuns: FUZZ_RUNS.wireCalls },
    );
  }, 180_000);

  it('signaling frames: an error reply naming what is wrong (never internal), or a close code for a protocol breach', async () => {
    const fuzzer = new SignalingWireFuzzer(`${gateway.httpUrl.replace('http', 'ws')}/ws/meetings/${FUZZ_MEETING}`);
    try {
      await fc.assert(
        fc.asyncProperty(signalingFrame, async (frame) => {
          expect((await fuzzer.run(frame)).problem).toBeUndefined();
        }),
        options,
      );
    } finally {
      await fuzzer.close();
    }
  }, 180_000);

  it('REST requests: never a 5xx, every 4xx a JSON error with a message', async () => {
    await fc.assert(
      fc.asyncProperty(restRequest, async (request) => {
        const outcome = await runRestCase(gateway.httpUrl, request);
        if (outcome !== 'unsendable') expect(outcome.problem).toBeUndefined();
      }),
      options,
    );
  }, 180_000);

  it('leaves the gateway healthy: a call is answered and hung up, a browser joins, nothing logged at error, no rejection unhandled', async () => {
    expect((await fetch(`${gateway.httpUrl}/readyz`)).status).toBe(200);

    const peer = await SipPeer.udp(target.sipAddress);
    try {
      const caller = new SipCaller(peer, `sip:healthy-room@${target.sipAddress.host}:${target.sipAddress.port}`);
      caller.invite({ body: PCMU_OFFER(40000) });
      const challenge = await peer.next(isResponse(401));
      caller.ackFailure(challenge);
      caller.invite({ body: PCMU_OFFER(40000), authorization: caller.authorization(challenge, identity) });
      const answer = await peer.next(isFinalResponse);
      expect(firstLine(answer.text)).toBe('SIP/2.0 200 OK');
      caller.inDialog(answer, 'ACK');
      caller.inDialog(answer, 'BYE');
      expect(firstLine((await peer.next(isResponse(200, 'BYE'))).text)).toBe('SIP/2.0 200 OK');
    } finally {
      await peer.close();
    }

    const browser = await SignalingTestClient.connect(`${gateway.httpUrl.replace('http', 'ws')}/ws/meetings/healthy-room`);
    try {
      const { rtpCapabilities } = await browser.request('getRouterRtpCapabilities', {});
      expect((await browser.request('join', { displayName: 'After the fuzz', rtpCapabilities })).participantId).toBeTruthy();
    } finally {
      browser.close();
    }

    expect(unhandled).toEqual([]);
    expect(capture.lines().filter((line) => (line.level as number) >= 50)).toEqual([]);
  });
});
