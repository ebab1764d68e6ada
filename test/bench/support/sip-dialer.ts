/**
 * Many SIP calls at once over a few UDP sockets, for benchmarks: each call is
 * INVITE → 401 → ACK → INVITE with MD5 digest credentials → 200 → ACK, and later BYE.
 * Messages are built by the tests' SipCaller (so they are the requests the SIP tests
 * send) and dispatched to their call by Call-ID, which keeps the cost per message flat
 * however many calls are in flight. Requests are retransmitted as RFC 3261 says for UDP
 * (T1 = 500 ms, doubling) and every retransmission is counted: on loopback one means
 * the gateway did not answer within 500 ms.
 */
import { type Socket, createSocket } from 'node:dgram';
import { type CallerIdentity, SipCaller } from '../../support/sip/sip-caller.js';
import { firstLine, header } from '../../support/sip/sip-message.js';
import type { ReceivedSip, SipPeer } from '../../support/sip/sip-peer.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** What one call's set-up took; times are performance.now() in this process. */
export interface CallSetup {
  readonly callId: string;
  /** The first (unauthenticated) INVITE left. */
  readonly firstInviteAt: number;
  /** The 401 arrived. */
  readonly challengedAt: number;
  /** The INVITE with credentials left. */
  readonly authInviteAt: number;
  /** Its 200 OK arrived. */
  readonly answeredAt: number;
  /** The 200 OK (for its SDP and dialog). */
  readonly answer: ReceivedSip;
  /** INVITE retransmissions this set-up needed. */
  readonly retransmissions: number;
}

export class CallFailed extends Error {
  constructor(
    message: string,
    readonly status?: number,
    /** Retry-After (seconds) of the refusal, when it carried one (a 503 shedding load). */
    readonly retryAfterSeconds?: number,
    /** INVITE retransmissions the call needed before it failed. */
    readonly retransmissions = 0,
  ) {
    super(message);
  }
}

const T1_MS = 500;
/** Timer B: an INVITE transaction without a final response gives up after 64·T1. */
const TRANSACTION_TIMEOUT_MS = 64 * T1_MS;

/** The part of SipPeer that SipCaller uses, over one of the dialer's sockets; remembers what it sent last. */
class PeerView {
  readonly transport = 'udp';
  lastSent = '';

  constructor(
    private readonly socket: Socket,
    private readonly port: number,
    private readonly target: HostPort,
  ) {}

  get hostport(): string {
    return `127.0.0.1:${this.port}`;
  }

  send(message: string | Buffer): void {
    this.lastSent = String(message);
    // A request goes where its Request-URI points: an in-dialog one to the 200's Contact, which
    // is another node's when the node dialled proxied the call to its meeting's owner.
    const to = requestTarget(this.lastSent) ?? this.target;
    this.socket.send(typeof message === 'string' ? Buffer.from(message) : message, to.port, to.host);
  }
}

/** The IPv4 host and port of a request's Request-URI; undefined for a response or a URI without both. */
function requestTarget(text: string): HostPort | undefined {
  const match = /^[A-Z]+ sips?:(?:[^@\s]*@)?(\d+\.\d+\.\d+\.\d+):(\d+)[;>\s]/.exec(text);
  return match ? { host: match[1]!, port: Number(match[2]) } : undefined;
}

type Expect = (message: ReceivedSip) => void;

interface DialerSocket {
  readonly socket: Socket;
  readonly port: number;
}

export class SipDialer {
  private readonly pending = new Map<string, Expect>();
  private next = 0;
  /** Requests the gateway sent us (its BYEs), answered 200. */
  requestsReceived = 0;
  unmatched = 0;

  private constructor(
    private readonly sockets: DialerSocket[],
    private readonly target: HostPort,
    /** How long a transaction waits for its final response. */
    private readonly timeoutMs: number,
  ) {
    for (const s of sockets) {
      s.socket.on('message', (data, rinfo) => this.arrive(s, data, { host: rinfo.address, port: rinfo.port }));
    }
  }

  static async open(target: HostPort, options: { sockets?: number; timeoutMs?: number } = {}): Promise<SipDialer> {
    const sockets: DialerSocket[] = [];
    for (let i = 0; i < (options.sockets ?? 4); i++) {
      const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      sockets.push({ socket, port: socket.address().port });
    }
    return new SipDialer(sockets, target, options.timeoutMs ?? TRANSACTION_TIMEOUT_MS);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sets up one call: the first INVITE, its 401, the INVITE with credentials, its 200,
   * the ACK. Resolves with the timings and a handle to hang up; rejects with CallFailed.
   */
  async call(requestUri: string, identity: CallerIdentity, sdp: string): Promise<DialedCall> {
    const s = this.sockets[this.next++ % this.sockets.length]!;
    const peer = new PeerView(s.socket, s.port, this.target);
    // SipCaller only uses transport, hostport and send() of its peer.
    const caller = new SipCaller(peer as unknown as SipPeer, requestUri);
    let retransmissions = 0;

    const firstInviteAt = performance.now();
    const first = caller.invite({ body: sdp });
    const challenge = await this.transaction(caller.callId, first, peer, 'INVITE', () => retransmissions++);
    const challengedAt = challenge.at;
    const status = statusOf(challenge);
    if (status !== 401) {
      if (status >= 300) caller.ackFailure(challenge);
      this.pending.delete(caller.callId);
      throw new CallFailed(`first INVITE answered ${firstLine(challenge.text)}, not 401`, status, retryAfterOf(challenge), retransmissions);
    }
    caller.ackFailure(challenge);
    const authorization = caller.authorization(challenge, identity);
    const authInviteAt = performance.now();
    const second = caller.invite({ body: sdp, authorization });
    const answer = await this.transaction(caller.callId, second, peer, 'INVITE', () => retransmissions++);
    const answeredStatus = statusOf(answer);
    if (answeredStatus !== 200) {
      caller.ackFailure(answer);
      this.pending.delete(caller.callId);
      throw new CallFailed(`INVITE with credentials answered ${firstLine(answer.text)}`, answeredStatus, retryAfterOf(answer), retransmissions);
    }
    return this.established(caller, peer, answer, { firstInviteAt, challengedAt, authInviteAt, retransmissions });
  }

  /**
   * Offers a call and cancels it before the answer: INVITE → 401 → INVITE with credentials,
   * and a CANCEL right behind it. Resolves 'cancelled' when the INVITE ends 487 (ACKed);
   * when the 200 OK won the race, the call is ACKed and hung up with a BYE (RFC 3261 §9.1)
   * and the BYE's status is given. Rejects with CallFailed on any other answer.
   */
  async callAndCancel(
    requestUri: string,
    identity: CallerIdentity,
    sdp: string,
  ): Promise<{ outcome: 'cancelled' } | { outcome: 'answered-first'; byeStatus: number }> {
    const s = this.sockets[this.next++ % this.sockets.length]!;
    const peer = new PeerView(s.socket, s.port, this.target);
    const caller = new SipCaller(peer as unknown as SipPeer, requestUri);
    const challenge = await this.transaction(caller.callId, caller.invite({ body: sdp }), peer, 'INVITE', () => undefined);
    if (statusOf(challenge) !== 401) {
      if (statusOf(challenge) >= 300) caller.ackFailure(challenge);
      this.pending.delete(caller.callId);
      throw new CallFailed(`first INVITE answered ${firstLine(challenge.text)}, not 401`, statusOf(challenge));
    }
    caller.ackFailure(challenge);
    const second = caller.invite({ body: sdp, authorization: caller.authorization(challenge, identity) });
    const final = this.transaction(caller.callId, second, peer, 'INVITE', () => undefined);
    // Its 200 OK (CSeq … CANCEL) matches no INVITE transaction and is dropped.
    caller.cancel();
    const answer = await final;
    const status = statusOf(answer);
    if (status === 487) {
      caller.ackFailure(answer);
      this.pending.delete(caller.callId);
      return { outcome: 'cancelled' };
    }
    if (status !== 200) {
      caller.ackFailure(answer);
      this.pending.delete(caller.callId);
      throw new CallFailed(`cancelled INVITE answered ${firstLine(answer.text)}, neither 487 nor 200`, status);
    }
    const call = this.established(caller, peer, answer, { firstInviteAt: 0, challengedAt: 0, authInviteAt: 0, retransmissions: 0 });
    return { outcome: 'answered-first', byeStatus: await call.hangUp() };
  }

  /** ACKs the 200 OK and tracks the dialog it set up. */
  private established(
    caller: SipCaller,
    peer: PeerView,
    answer: ReceivedSip,
    times: Pick<CallSetup, 'firstInviteAt' | 'challengedAt' | 'authInviteAt' | 'retransmissions'>,
  ): DialedCall {
    const { firstInviteAt, challengedAt, authInviteAt, retransmissions } = times;
    caller.inDialog(answer, 'ACK');
    const call = new DialedCall(this, caller, peer, {
      callId: caller.callId,
      firstInviteAt,
      challengedAt,
      authInviteAt,
      answeredAt: answer.at,
      answer,
      retransmissions,
    });
    // A retransmitted 200 (our ACK lost) is acknowledged again; a BYE from the gateway ends the call.
    this.pending.set(caller.callId, (message) => call.inDialogMessage(message));
    return call;
  }

  async close(): Promise<void> {
    await Promise.all(this.sockets.map((s) => new Promise<void>((resolve) => s.socket.close(() => resolve()))));
  }

  /** @internal Sends a request and resolves with its final response (provisional ones stop retransmission). */
  transaction(callId: string, request: string, peer: PeerView, method: string, onRetransmit: () => void): Promise<ReceivedSip> {
    const previous = this.pending.get(callId);
    const cseq = header(request, 'CSeq');
    return new Promise<ReceivedSip>((resolve, reject) => {
      let interval = T1_MS;
      let provisional = false;
      const started = performance.now();
      let timer: NodeJS.Timeout;
      const retransmit = () => {
        if (performance.now() - started >= this.timeoutMs) {
          this.restore(callId, previous);
          reject(new CallFailed(`no final response to ${method} within ${this.timeoutMs} ms`));
          return;
        }
        if (!provisional) {
          onRetransmit();
          peer.send(request);
        }
        interval = Math.min(interval * 2, 4000);
        timer = setTimeout(retransmit, interval);
      };
      timer = setTimeout(retransmit, interval);
      this.pending.set(callId, (message) => {
        const status = statusOf(message);
        if (status === 0) {
          previous?.(message);
          return;
        }
        if (header(message.text, 'CSeq') !== cseq) {
          previous?.(message);
          return;
        }
        if (status < 200) {
          provisional = true;
          return;
        }
        clearTimeout(timer);
        this.restore(callId, previous);
        resolve(message);
      });
      peer.send(request);
    });
  }

  /** @internal */
  forget(callId: string): void {
    this.pending.delete(callId);
  }

  private restore(callId: string, previous: Expect | undefined): void {
    if (previous) this.pending.set(callId, previous);
    else this.pending.delete(callId);
  }

  private arrive(s: DialerSocket, data: Buffer, from: HostPort): void {
    const text = data.toString('utf8');
    const message: ReceivedSip = { text, data, at: performance.now(), from };
    const callId = header(text, 'Call-ID');
    const handler = callId === undefined ? undefined : this.pending.get(callId);
    if (!text.startsWith('SIP/2.0 ')) {
      // A request from the gateway (BYE when it ends a call): answer it, then tell the call.
      this.requestsReceived++;
      if (!text.startsWith('ACK ')) s.socket.send(Buffer.from(okFor(text)), from.port, from.host);
    }
    if (handler) handler(message);
    else this.unmatched++;
  }
}

export class DialedCall {
  private ended = false;
  private endedByGateway = false;
  private gatewayHungUp!: () => void;
  /** Settles when the gateway ends the call with its own BYE (answered 200 by the dialer). */
  readonly hungUpByGateway = new Promise<void>((resolve) => (this.gatewayHungUp = resolve));

  constructor(
    private readonly dialer: SipDialer,
    private readonly caller: SipCaller,
    private readonly peer: PeerView,
    readonly setup: CallSetup,
  ) {}

  /** The port and address the gateway's SDP answer asks us to send RTP to. */
  get mediaTarget(): HostPort {
    const body = this.setup.answer.text.slice(this.setup.answer.text.indexOf('\r\n\r\n') + 4);
    const host = /^c=IN IP4 (\S+)/m.exec(body)?.[1] ?? '127.0.0.1';
    const port = Number(/^m=audio (\d+)/m.exec(body)?.[1] ?? 0);
    return { host, port };
  }

  get endedByTheGateway(): boolean {
    return this.endedByGateway;
  }

  /** BYE, resolving with its final response's status (0 when the gateway had already hung up). */
  async hangUp(): Promise<number> {
    if (this.ended) return 0;
    this.ended = true;
    this.caller.inDialog(this.setup.answer, 'BYE');
    const bye = this.peer.lastSent;
    try {
      const response = await this.dialer.transaction(this.setup.callId, bye, this.peer, 'BYE', () => undefined);
      return statusOf(response);
    } finally {
      this.dialer.forget(this.setup.callId);
    }
  }

  /** @internal */
  inDialogMessage(message: ReceivedSip): void {
    if (message.text.startsWith('SIP/2.0 200 ') && (header(message.text, 'CSeq') ?? '').endsWith(' INVITE')) {
      this.caller.inDialog(message, 'ACK');
    } else if (message.text.startsWith('BYE ')) {
      this.ended = true;
      this.endedByGateway = true;
      this.dialer.forget(this.setup.callId);
      this.gatewayHungUp();
    }
  }
}

function statusOf(message: ReceivedSip): number {
  if (!message.text.startsWith('SIP/2.0 ')) return 0;
  return Number(message.text.slice(8, 11));
}

/** Retry-After's delta-seconds (RFC 3261 §20.33; a comment or parameters may follow); undefined when absent. */
function retryAfterOf(message: ReceivedSip): number | undefined {
  const value = header(message.text, 'Retry-After');
  const seconds = value === undefined ? Number.NaN : Number.parseInt(value, 10);
  return Number.isFinite(seconds) ? seconds : undefined;
}

/** A 200 OK for a request (the gateway's BYE), echoing the headers RFC 3261 §8.2.6 says to. */
function okFor(request: string): string {
  const head = request.slice(0, request.indexOf('\r\n\r\n'));
  const copied = head
    .split('\r\n')
    .slice(1)
    .filter((line) => /^(via|v|from|f|to|t|call-id|i|cseq):/i.test(line));
  return ['SIP/2.0 200 OK', ...copied, 'Content-Length: 0', '', ''].join('\r\n');
}
