/**
 * Sends generated SIP cases to a running gateway's SIP edge (the drachtio stand-in or a real
 * drachtio-server) and judges what comes back, one case at a time: over UDP from one socket,
 * over TCP on a fresh connection per case (and for messages too large for a datagram).
 *
 * After each case a probe (an OPTIONS, answered 200 by the gateway) follows on the same
 * socket or connection; once the probe is answered, whatever the case was going to get from
 * the SIP stack has arrived. Answers are told apart by Call-ID (each case has its own);
 * retransmissions (byte-identical) are ignored, and a non-2xx to an INVITE is ACKed so the
 * edge stops retransmitting it.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createConnection, type Socket } from 'node:net';
import { SipFramingError, SipStreamFramer } from '../../../src/drachtio-standin/sip-stream-framer.js';
import { header } from '../sip/sip-message.js';
import { FUZZ_MEETING, MAX_SIP_MESSAGE_BYTES, type SipFuzzCase, type SipSender, expectedSipAnswer, renderSipCase } from './sip-messages.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface WireOutcome {
  /** Why the answer was not a defined one; undefined when it was. */
  readonly problem: string | undefined;
  readonly ms: number;
}

/** Largest datagram payload over IPv4 (65,535 less the IP and UDP headers). */
const MAX_DATAGRAM = 65_507;
const PROBE_TIMEOUT_MS = 5_000;
/** How long a real drachtio-server's stalled TCP stream is given (see SipWireOptions.realServer). */
const STALLED_STREAM_WAIT_MS = 1_000;
/** A case whose framing stays open on TCP (Content-Length promises more) gets this long for a reaction. */
const OPEN_FRAME_WAIT_MS = 100;

const STATUS_LINE = /^SIP\/2\.0 (\d{3}) \S.*$/;

interface Arrival {
  readonly text: string;
  readonly callId: string | undefined;
}

export interface SipWireOptions {
  /** Every how many cases one goes over TCP (besides those too large for a datagram). */
  readonly tcpEvery?: number;
  /**
   * A real drachtio-server. v0.9.10 answers an ACK it cannot accept (a repeated Max-Forwards...)
   * with 400 (the stand-in drops it: an ACK has no response; both answer another SIP version 505), relays a response that matches no
   * transaction to its next Via (the stand-in drops it), passes a request whose version is
   * not upper case on to the app, which cannot parse it (the stand-in answers 400), and may leave a TCP connection whose
   * stream it could not read open without reading on (the stand-in closes it); with a real
   * server these are let pass, the last after a second.
   */
  readonly realServer?: boolean;
}

export class SipWireFuzzer {
  /** Cases answered with a final response, and cases met with silence (a drop, or a connection closed). */
  readonly tally = { answered: 0, silent: 0 };
  private readonly seen = new Set<string>();
  /** Time the last case spent waiting on purpose for a reaction that need not come (not the gateway's time). */
  private idleMs = 0;
  private readonly listeners = new Set<(arrival: Arrival) => void>();
  private count = 0;

  private constructor(
    private readonly target: HostPort,
    private readonly udp: UdpSocket,
    private readonly options: SipWireOptions,
  ) {
    udp.on('message', (data) => this.arrive(data, (text) => this.udp.send(text, target.port, target.host)));
  }

  static async open(target: HostPort, options: SipWireOptions = {}): Promise<SipWireFuzzer> {
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    return new SipWireFuzzer(target, udp, options);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.udp.close(() => resolve()));
  }

  /** Sends one case and judges its answer. */
  async run(fuzzCase: SipFuzzCase): Promise<WireOutcome> {
    const index = this.count++;
    const id = `fz${index}x${randomBytes(4).toString('hex')}`;
    const targetHostport = `${this.target.host}:${this.target.port}`;
    const udpSender: SipSender = { transport: 'udp', hostport: `127.0.0.1:${this.udp.address().port}`, target: targetHostport, id };
    const bytes = renderSipCase(fuzzCase, udpSender);
    const tcp = bytes.length > MAX_DATAGRAM - 100 || index % (this.options.tcpEvery ?? 4) === 3;
    const started = performance.now();
    this.idleMs = 0;
    const problem = tcp
      ? await this.runTcp(fuzzCase, id, targetHostport)
      : await this.exchange(expectedSipAnswer(fuzzCase, bytes), id, bytes, (data) => this.udp.send(data, this.target.port, this.target.host), udpSender, fuzzCase);
    return { problem: problem && `${tcp ? 'TCP' : 'UDP'}: ${problem}`, ms: performance.now() - started - this.idleMs };
  }

  private async runTcp(fuzzCase: SipFuzzCase, id: string, targetHostport: string): Promise<string | undefined> {
    const socket: Socket = createConnection({ host: this.target.host, port: this.target.port });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
    } catch (err) {
      return `could not connect: ${(err as Error).message}`;
    }
    const framer = new SipStreamFramer();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const message of framer.push(chunk).messages) this.arrive(message, (text) => socket.write(text));
      } catch {
        socket.destroy();
      }
    });
    const sender: SipSender = { transport: 'tcp', hostport: `127.0.0.1:${socket.localPort}`, target: targetHostport, id };
    const bytes = renderSipCase(fuzzCase, sender);
    try {
      return await this.exchange(expectedSipAnswer(fuzzCase, bytes), id, bytes, (data) => socket.write(data), sender, fuzzCase, closed);
    } finally {
      socket.destroy();
      await closed;
    }
  }

  /**
   * Sends the case and its probe, waits for the probe's answer (or the connection's end),
   * and for a case that must be answered, its answer; then judges.
   */
  private async exchange(
    expected: 'silence' | 'answer' | 'either',
    id: string,
    bytes: Buffer,
    send: (data: Buffer) => void,
    sender: SipSender,
    fuzzCase: SipFuzzCase,
    connectionClosed?: Promise<void>,
  ): Promise<string | undefined> {
    const answers: Arrival[] = [];
    const unattributed: Arrival[] = [];
    const probeCallId = `probe-${id}`;
    let probeAnswered!: () => void;
    const probeDone = new Promise<void>((resolve) => (probeAnswered = resolve));
    let caseAnswered!: () => void;
    const caseDone = new Promise<void>((resolve) => (caseAnswered = resolve));
    const listener = (arrival: Arrival) => {
      if (arrival.callId === probeCallId) {
        if (isFinal(arrival.text)) probeAnswered();
        return;
      }
      // An answer echoes the request's Via, From, To and Call-ID, which name the case they came
      // in. One naming another case is a late answer to that one; one naming none (all four
      // mutated away) cannot be told apart, and only its form is judged.
      const named: string[] = arrival.text.match(/fz\d+x[0-9a-f]{8}/g) ?? [];
      if (named.includes(id)) {
        answers.push(arrival);
        if (isFinal(arrival.text)) caseAnswered();
      } else if (named.length === 0) {
        unattributed.push(arrival);
      }
    };
    this.listeners.add(listener);
    try {
      send(bytes);
      const probe = probeRequest(sender, probeCallId);
      // On a stream the probe is only a message of its own when the case's framing closed.
      const probeFramed = connectionClosed === undefined || framesApart(bytes, probe);
      const ended = connectionClosed ?? new Promise<void>(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      const timeout = (ms: number) => new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
      if (probeFramed) {
        send(probe);
        const stalledStreamAllowed = connectionClosed !== undefined && this.options.realServer;
        const result = await Promise.race([probeDone, ended, timeout(stalledStreamAllowed ? STALLED_STREAM_WAIT_MS : PROBE_TIMEOUT_MS)]);
        clearTimeout(timer);
        if (result === 'timeout' && stalledStreamAllowed) this.idleMs = STALLED_STREAM_WAIT_MS;
        if (result === 'timeout' && !stalledStreamAllowed) return `the probe after the case was not answered within ${PROBE_TIMEOUT_MS} ms (${describe(fuzzCase)})`;
      } else {
        if ((await Promise.race([ended, timeout(OPEN_FRAME_WAIT_MS)])) === 'timeout') this.idleMs = OPEN_FRAME_WAIT_MS;
        clearTimeout(timer);
      }
      if (expected === 'answer') {
        const result = await Promise.race([caseDone, ended.then(() => 'closed' as const), timeout(PROBE_TIMEOUT_MS)]);
        clearTimeout(timer);
        // drachtio-server passes a request whose version is not upper case to the app, which cannot parse it.
        const unparseableForTheApp = this.options.realServer && !/^\S+ \S+ SIP\/2\.0\r?\n/.test(bytes.toString('latin1'));
        if (result !== undefined && !unparseableForTheApp && answers.every((a) => !isFinal(a.text))) {
          return `no answer to a request that must be answered (${describe(fuzzCase)})`;
        }
      }
    } finally {
      this.listeners.delete(listener);
    }
    if (answers.some((a) => isFinal(a.text))) this.tally.answered++;
    else this.tally.silent++;
    const malformed = unattributed.find((a) => !STATUS_LINE.test(a.text.split('\r\n', 1)[0] ?? ''));
    if (malformed) return `an answer that is not a SIP response with a status and a reason: ${JSON.stringify(malformed.text.slice(0, 80))}`;
    return judge(expected, answers, bytes, fuzzCase, this.options);
  }

  private arrive(data: Buffer, reply: (text: string) => void): void {
    const text = data.toString('latin1');
    if (this.seen.has(text)) return;
    this.seen.add(text);
    const arrival: Arrival = { text, callId: header(text, 'Call-ID') };
    const ack = ackFor(text);
    if (ack) reply(ack);
    for (const listener of this.listeners) listener(arrival);
  }
}

function isFinal(text: string): boolean {
  const status = STATUS_LINE.exec(text.split('\r\n', 1)[0] ?? '');
  return status !== null && Number(status[1]) >= 200;
}

function describe(fuzzCase: SipFuzzCase): string {
  return `${fuzzCase.draft.base}: ${fuzzCase.mutations.join('; ') || 'unmutated'}`;
}

function judge(expected: 'silence' | 'answer' | 'either', answers: readonly Arrival[], bytes: Buffer, fuzzCase: SipFuzzCase, options: SipWireOptions): string | undefined {
  for (const answer of answers) {
    const line = answer.text.split('\r\n', 1)[0] ?? '';
    if (options.realServer && line === bytes.toString('latin1').split('\r\n', 1)[0]) continue;
    const status = STATUS_LINE.exec(line);
    if (!status) return `an answer that is not a SIP response with a status and a reason: ${JSON.stringify(line.slice(0, 80))} (${describe(fuzzCase)})`;
    const code = Number(status[1]);
    const method = /^(\S+) /.exec(bytes.toString('latin1'))?.[1];
    if (code >= 200 && code < 300 && method !== 'OPTIONS') return `${line} to a ${method} without credentials (${describe(fuzzCase)})`;
  }
  const sentLine = bytes.toString('latin1').split('\r\n', 1)[0];
  // A real drachtio-server relays a response that matches no transaction to its next Via (here:
  // back to us, as sent); that is the response passed on, not an answer to it.
  const relayed = (answer: Arrival) => Boolean(options.realServer) && answer.text.split('\r\n', 1)[0] === sentLine;
  const replies = answers.filter((answer) => !relayed(answer));
  if (expected === 'silence' && replies.length > 0) {
    const first = replies[0]!.text.split('\r\n', 1)[0] ?? '';
    // Both edges answer an ACK of another SIP version 505, as drachtio-server does; a real one refuses other ACKs too.
    const refusedAck = /^ACK /.test(sentLine ?? '') && (options.realServer ? /^SIP\/2\.0 [45]\d\d /.test(first) : /^SIP\/2\.0 505 /.test(first));
    if (!refusedAck) return `${first} to what must not be answered (${describe(fuzzCase)})`;
  }
  return undefined;
}

function probeRequest(sender: SipSender, callId: string): Buffer {
  const uri = `sip:${FUZZ_MEETING}@${sender.target}`;
  return Buffer.from(
    [
      `OPTIONS ${uri} SIP/2.0`,
      `Via: SIP/2.0/${sender.transport.toUpperCase()} ${sender.hostport};rport;branch=z9hG4bK${callId}`,
      'Max-Forwards: 70',
      `From: <sip:probe@${sender.hostport}>;tag=p${sender.id}`,
      `To: <${uri}>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

/** The case and the probe, framed as a stream, come apart as messages of their own. */
function framesApart(bytes: Buffer, probe: Buffer): boolean {
  try {
    const messages = new SipStreamFramer().push(Buffer.concat([bytes, probe])).messages;
    return messages.length > 0 && messages[messages.length - 1]!.equals(probe) && bytes.length <= MAX_SIP_MESSAGE_BYTES;
  } catch (err) {
    if (err instanceof SipFramingError) return false;
    throw err;
  }
}

/** The ACK for a non-2xx final response to an INVITE (RFC 3261 §17.1.1.3), so it is not retransmitted. */
function ackFor(text: string): string | undefined {
  const status = STATUS_LINE.exec(text.split('\r\n', 1)[0] ?? '');
  const cseq = header(text, 'CSeq');
  if (!status || Number(status[1]) < 300 || !cseq || !/ INVITE$/i.test(cseq)) return undefined;
  const [via, from, to, callId] = [header(text, 'Via'), header(text, 'From'), header(text, 'To'), header(text, 'Call-ID')];
  if (!via || !from || !to || !callId) return undefined;
  return [
    // The server transaction is matched by the Via branch; the Request-URI only has to be one.
    `ACK sip:${FUZZ_MEETING}@127.0.0.1 SIP/2.0`,
    `Via: ${via}`,
    'Max-Forwards: 70',
    `From: ${from}`,
    `To: ${to}`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq.split(' ')[0]} ACK`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}
