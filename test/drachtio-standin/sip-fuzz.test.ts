/**
 * Properties of the stand-in's SIP reading over generated and mutated messages
 * (test/support/fuzz/sip-messages.ts): the parser, the request checks and the TCP framer
 * never throw, every verdict is one RFC 3261 allows for what was sent, and none takes long.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRequest } from '../../src/drachtio-standin/request-validation.js';
import { parseSipMessage, serializeMessage } from '../../src/drachtio-standin/sip-message.js';
import { SipFramingError, SipStreamFramer } from '../../src/drachtio-standin/sip-stream-framer.js';
import type { Peer } from '../../src/drachtio-standin/sip-transport.js';
import { FUZZ_RUNS, FUZZ_SEED, SLOW_CASE_MS } from '../support/fuzz/fuzz-settings.js';
import { MAX_SIP_MESSAGE_BYTES, type SipSender, expectedSipAnswer, renderSipCase, sipCase } from '../support/fuzz/sip-messages.js';

const UDP: Peer = { transport: 'udp', address: '127.0.0.1', port: 25110 };
const SENDER: SipSender = { transport: 'udp', hostport: '127.0.0.1:25110', target: '127.0.0.1:5060', id: 'fuzz1' };

/** The headers whose syntax the stack checks, long and compact names. */
const PARSED = new Set(['via', 'v', 'from', 'f', 'to', 't', 'call-id', 'i', 'cseq', 'content-length', 'l', 'max-forwards', 'contact', 'm']);

const options = { seed: FUZZ_SEED, numRuns: FUZZ_RUNS.unit };

/** What the stack does with bytes from a UDP peer: nothing for non-SIP, the uac path for responses, else a verdict. */
function verdictFor(bytes: Buffer) {
  const parsed = parseSipMessage(bytes);
  if (!parsed) return { kind: 'not-sip' as const };
  if (parsed.message.kind === 'response') return { kind: 'response' as const };
  return checkRequest(parsed, UDP);
}

describe('SIP messages, generated and mutated', () => {
  it('are read without throwing, quickly, into a verdict RFC 3261 allows', () => {
    fc.assert(
      fc.property(sipCase, (fuzzCase) => {
        const bytes = renderSipCase(fuzzCase, SENDER);
        // Neither a datagram nor the TCP framer hands the parser more than 64 KiB.
        fc.pre(bytes.length <= MAX_SIP_MESSAGE_BYTES);
        const started = performance.now();
        const verdict = verdictFor(bytes);
        expect(performance.now() - started).toBeLessThan(SLOW_CASE_MS);
        const expected = expectedSipAnswer(fuzzCase, bytes);
        // An ACK of another SIP version is answered 505, as drachtio-server answers it (an ACK has no response in RFC 3261).
        const ackOfAnotherVersion = verdict.kind === 'reject' && verdict.reply.status === 505 && /^ACK /.test(bytes.toString('latin1'));
        if (expected === 'silence' && !ackOfAnotherVersion) expect(verdict.kind).not.toBe('reject');
        if (expected === 'answer') expect(['accept', 'reject']).toContain(verdict.kind);
        if (verdict.kind === 'reject') {
          const reply = parseSipMessage(serializeMessage(verdict.reply));
          expect(reply?.message.kind).toBe('response');
          if (reply?.message.kind !== 'response') return;
          expect(reply.message.status).toBeGreaterThanOrEqual(400);
          expect(reply.message.reason).not.toBe('');
        }
        if (verdict.kind === 'accept') {
          // What is handed on is a request the rules let through: SIP/2.0, no NUL or bare CR, no control character where the stack parses.
          expect(verdict.request.version).toBe('SIP/2.0');
          for (const header of verdict.request.headers) {
            expect(header.value).not.toMatch(/[\0\r]/);
            if (PARSED.has(header.name.toLowerCase())) expect(header.value).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f]/);
          }
        }
      }),
      options,
    );
  });

  it('are framed the same over TCP however the stream is cut, and no message beyond 64 KiB comes out', () => {
    fc.assert(
      fc.property(sipCase, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), (fuzzCase, cuts) => {
        const bytes = renderSipCase(fuzzCase, { ...SENDER, transport: 'tcp' });
        const framed = (chunks: Buffer[]) => {
          const framer = new SipStreamFramer();
          const messages: string[] = [];
          try {
            for (const chunk of chunks) messages.push(...framer.push(chunk).messages.map((m) => m.toString('latin1')));
          } catch (err) {
            expect(err).toBeInstanceOf(SipFramingError);
            return { messages, refused: true };
          }
          return { messages, refused: false };
        };
        const whole = framed([bytes]);
        const offsets = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
        const pieces = [0, ...offsets, bytes.length].slice(1).map((end, i, ends) => bytes.subarray(i === 0 ? 0 : ends[i - 1], end));
        const cut = framed(pieces);
        if (!whole.refused && !cut.refused) expect(cut.messages).toEqual(whole.messages);
        for (const message of [...whole.messages, ...cut.messages]) expect(message.length).toBeLessThanOrEqual(MAX_SIP_MESSAGE_BYTES);
      }),
      options,
    );
  });
});
