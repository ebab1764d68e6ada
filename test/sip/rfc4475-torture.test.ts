/**
 * RFC 4475's 49 torture messages, each over UDP and over TCP, to the gateway behind its
 * drachtio edge (the stand-in, or the real drachtio-server with DRACHTIO_SERVER_BIN). Every
 * message gets the answer the table names, and nothing else: the edge's own answers to what
 * it cannot parse (400, 505), the gateway's to what it parses but will not serve
 * (416, 420, 415, 406, each with a Warning), the ordinary answers to the valid ones, no
 * 2xx to an invalid request unless the RFC allows accepting it liberally, and no answer at
 * all to a response. The gateway stays up.
 * The README publishes this table (SIP security); test/support/sip/torture-messages.ts says
 * how the messages are addressed to the edge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { startSipTestGateway } from '../support/gateway.js';
import { capturedLogger } from '../support/log-capture.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { firstLine, header } from '../support/sip/sip-message.js';
import { type ReceivedSip, SipPeer, isFinalResponse } from '../support/sip/sip-peer.js';
import { adaptToEdge, tortureMessage } from '../support/sip/torture-messages.js';

type Transport = 'udp' | 'tcp';

/** A final response with this status, or no final response at all. */
type Answer = number | 'none';

interface Expectation {
  readonly name: string;
  /** The final answer over UDP, and over TCP unless `tcp` says otherwise. */
  readonly answer: Answer;
  readonly tcp?: Answer;
  /** Headers the answer must carry (value matched). */
  readonly headers?: Readonly<Record<string, RegExp>>;
  /** Why this is the right answer (RFC 4475's verdict, and who gives it). */
  readonly why: string;
}

const ALLOW = /^INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE$/;
const WARNING = /^399 127\.0\.0\.1 ".+"$/;

/** In RFC 4475's order (§3.1.1 valid, §3.1.2 invalid, §3.2, §3.3, §3.4). */
const TABLE: readonly Expectation[] = [
  { name: 'wsinv', answer: 481, why: 'valid; its To carries a tag, so it is an in-dialog request for a dialog that does not exist' },
  { name: 'intmeth', answer: 'none', why: 'valid, but drachtio-server cannot parse a method with + in it and drops the message (the RFC asks for 501)' },
  { name: 'esc01', answer: 401, why: 'valid INVITE: the digest challenge every unauthenticated INVITE gets' },
  { name: 'escnull', answer: 405, headers: { Allow: ALLOW }, why: 'valid REGISTER: the gateway is no registrar' },
  { name: 'esc02', answer: 'none', why: 'valid; RE%47IST%45R is an unknown method (not REGISTER), and drachtio-server drops methods it does not know (the RFC asks for 501)' },
  { name: 'lwsdisp', answer: 200, why: 'valid OPTIONS (no LWS before <)' },
  { name: 'longreq', answer: 401, why: 'valid INVITE with very long values' },
  { name: 'dblreq', answer: 405, tcp: 'none', headers: { Allow: ALLOW }, why: 'valid REGISTER; over UDP the INVITE-looking octets after it are ignored; over TCP they follow CRLFs in the same read, which drachtio-server cannot read: it stops answering on that connection and the 405 is lost' },
  { name: 'semiuri', answer: 200, why: 'valid OPTIONS; the user part contains ;par=' },
  { name: 'transports', answer: 200, why: 'valid OPTIONS; unknown transports in the lower Vias' },
  { name: 'mpart01', answer: 400, why: 'valid, but its binary body part holds NUL bytes, which drachtio-server takes for a truncated message: 400' },
  { name: 'unreason', answer: 'none', why: 'a response (UTF-8 reason phrase): never answered' },
  { name: 'noreason', answer: 'none', why: 'a response (empty reason phrase): never answered' },
  { name: 'badinv01', answer: 'none', why: 'invalid: stray ; and , in Via and Contact; with no usable Via there is nowhere to answer: dropped' },
  { name: 'clerr', answer: 400, tcp: 'none', why: 'invalid: Content-Length larger than the message; over TCP the rest never comes' },
  { name: 'ncl', answer: 400, why: 'invalid: negative Content-Length' },
  { name: 'scalar02', answer: 400, why: 'invalid: CSeq above 2^32-1' },
  { name: 'scalarlg', answer: 'none', why: 'an invalid response: dropped' },
  { name: 'quotbal', answer: 400, why: 'invalid: unterminated quoted string' },
  { name: 'ltgtruri', answer: 400, why: 'invalid: <> around the Request-URI' },
  { name: 'lwsruri', answer: 'none', why: 'invalid: LWS inside the Request-URI; the request line does not parse: dropped' },
  { name: 'lwsstart', answer: 'none', why: 'invalid (liberal accept allowed): drachtio-server accepts the extra SP, drachtio-srf cannot parse the request line: 100 Trying and no final answer' },
  { name: 'trws', answer: 200, why: 'invalid (liberal accept allowed): the trailing SP is ignored; OPTIONS answered' },
  { name: 'escruri', answer: 401, why: 'invalid but may be accepted: escaped headers in the Request-URI are ignored; the INVITE is challenged' },
  { name: 'baddate', answer: 400, why: 'ambiguous: drachtio-server rejects a Date that is not GMT' },
  { name: 'regbadct', answer: 400, why: 'invalid (liberal accept allowed): a Contact URI with ? outside <>' },
  { name: 'badaspec', answer: 200, why: 'invalid (liberal accept allowed): the spaces inside <> are ignored; OPTIONS answered' },
  { name: 'baddn', answer: 400, tcp: 'none', why: 'invalid: non-token display name; the message also lacks the empty line ending its headers' },
  { name: 'badvers', answer: 505, why: 'SIP/7.0: 505 Version Not Supported' },
  { name: 'mismatch01', answer: 400, why: 'invalid: method and CSeq method differ' },
  { name: 'mismatch02', answer: 400, why: 'invalid: unknown method and CSeq method differ (400 acceptable)' },
  { name: 'bigcode', answer: 'none', why: 'a response with an overlarge code: dropped' },
  { name: 'badbranch', answer: 200, why: 'ambiguous: branch z9hG4bK alone, matched as RFC 2543; OPTIONS answered' },
  { name: 'insuf', answer: 400, why: 'invalid: no Call-ID, From or To' },
  { name: 'unkscm', answer: 416, headers: { Warning: WARNING }, why: 'Request-URI with an unknown scheme: 416' },
  { name: 'novelsc', answer: 416, headers: { Warning: WARNING }, why: 'soap.beep Request-URI: never meaningful here, 416' },
  { name: 'unksm2', answer: 405, headers: { Allow: ALLOW }, why: 'valid REGISTER with unknown schemes in To/From/Contact: 405, the gateway is no registrar' },
  { name: 'bext01', answer: 420, headers: { Unsupported: /^nothingSupportsThis, nothingSupportsThisEither$/, Warning: WARNING }, why: 'Require of unknown extensions: 420 with Unsupported' },
  { name: 'invut', answer: 415, headers: { Accept: /^application\/sdp$/, Warning: WARNING }, why: 'unknown Content-Type: 415 with Accept' },
  { name: 'regaut01', answer: 405, headers: { Allow: ALLOW }, why: 'unknown Authorization scheme on a REGISTER: a non-registrar answers 405' },
  { name: 'multi01', answer: 400, why: 'invalid: several Call-ID, To, From, Max-Forwards, CSeq' },
  { name: 'mcl01', answer: 400, why: 'invalid: two different Content-Length values' },
  { name: 'bcast', answer: 'none', why: 'a response with a broadcast Via: dropped' },
  { name: 'zeromf', answer: 200, why: 'Max-Forwards 0 to an endpoint: processed normally' },
  { name: 'cparam01', answer: 405, headers: { Allow: ALLOW }, why: 'valid REGISTER: the gateway is no registrar' },
  { name: 'cparam02', answer: 405, headers: { Allow: ALLOW }, why: 'valid REGISTER: the gateway is no registrar' },
  { name: 'regescrt', answer: 405, headers: { Allow: ALLOW }, why: 'valid REGISTER: the gateway is no registrar' },
  { name: 'sdp01', answer: 406, headers: { Accept: /^application\/sdp$/, Warning: WARNING }, why: 'Accept without application/sdp: 406 with a Warning' },
  { name: 'inv2543', answer: 401, tcp: 400, why: 'RFC 2543 INVITE, accepted for backward compatibility and challenged; over TCP it lacks the Content-Length a stream needs: 400' },
];

/** How long a message's peer listens for anything more after its answer (or for any answer at all). */
const QUIET_MS = 1500;
/** How long it waits for an answer the table expects (generous: the suite runs on loaded machines). */
const ANSWER_MS = 10_000;

/** Sends one message from a peer of its own; the distinct final responses it got (a UDP non-2xx to an INVITE is retransmitted until an ACK that never comes). */
async function finalResponsesTo(edge: DrachtioTarget, row: Expectation, transport: Transport): Promise<ReceivedSip[]> {
  const peer = transport === 'udp' ? await SipPeer.udp(edge.sipAddress) : await SipPeer.tcp(edge.sipAddress);
  try {
    peer.send(adaptToEdge(tortureMessage(row.name), transport, peer.hostport, edge.sipAddress));
    if (expected(row, transport) !== 'none') await peer.next(isFinalResponse, ANSWER_MS).catch(() => undefined);
    await peer.collect(QUIET_MS);
    const finals = peer.received.filter(isFinalResponse);
    return finals.filter((m, index) => finals.findIndex((other) => other.text === m.text) === index);
  } finally {
    await peer.close();
  }
}

function expected(row: Expectation, transport: Transport): Answer {
  return transport === 'tcp' && row.tcp !== undefined ? row.tcp : row.answer;
}

// A fresh edge and gateway per transport: the messages reuse Call-IDs and branches, and a
// transaction left from the other transport's run would take them for retransmissions.
describe.each<Transport>(['udp', 'tcp'])('over %s', (transport) => {
  const gatewayLog = capturedLogger();
  const answers = new Map<string, ReceivedSip[]>();
  let edge: DrachtioTarget;
  let gateway: Gateway;

  beforeAll(async () => {
    edge = await drachtioTarget();
    gateway = await startSipTestGateway(edge, { RTP_MIN_PORT: '45600', RTP_MAX_PORT: '45649' }, gatewayLog.log);
    const results = await Promise.all(TABLE.map(async (row) => [row.name, await finalResponsesTo(edge, row, transport)] as const));
    for (const [name, responses] of results) answers.set(name, responses);
  });

  afterAll(async () => {
    await gateway?.close();
    await edge?.close();
  });

  it.each(TABLE)('$name: $why', (row) => {
    const got = answers.get(row.name) ?? [];
    const want = expected(row, transport);
    expect(got.map((m) => firstLine(m.text).split(' ')[1])).toEqual(want === 'none' ? [] : [String(want)]);
    if (want === 'none') return;
    for (const [name, value] of Object.entries(row.headers ?? {})) expect(header(got[0]!.text, name), name).toMatch(value);
  });

  it('leaves the gateway up: OPTIONS answered 200, /healthz 200, nothing logged as an error', async () => {
    const peer = await SipPeer.udp(edge.sipAddress);
    try {
      const uri = `sip:probe@${edge.sipAddress.host}:${edge.sipAddress.port}`;
      peer.send(
        [`OPTIONS ${uri} SIP/2.0`, `Via: SIP/2.0/UDP ${peer.hostport};branch=z9hG4bKstillup${transport}`, 'Max-Forwards: 70', 'From: <sip:probe@127.0.0.1>;tag=1',
          `To: <${uri}>`, `Call-ID: still-up-${transport}@test`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n'),
      );
      expect(firstLine((await peer.next(isFinalResponse)).text)).toBe('SIP/2.0 200 OK');
    } finally {
      await peer.close();
    }
    expect((await fetch(`${gateway.httpUrl}/healthz`)).status).toBe(200);
    expect(gatewayLog.lines().filter((line) => Number(line.level) >= 50)).toEqual([]);
  });
});
