/**
 * A minimal SIP user agent for benchmarks: many calls over ONE UDP socket, dispatched by
 * Call-ID. It does what a simple phone does and no more: INVITE with an SDP offer,
 * answer the 401 digest challenge (MD5, qop=auth), ACK the 200, BYE at the end; requests
 * are retransmitted RFC 3261 style (T1 = 500 ms, doubling) until a response arrives, so a
 * datagram dropped under load does not fail a call. It answers a BYE from the gateway.
 */
import { randomBytes } from 'node:crypto';
import { type Socket, createSocket } from 'node:dgram';
import { digestResponse, parseDigest } from '../../support/sip/digest.js';
import { failureAck } from '../../support/sip/sip-caller.js';
import { header, parseSipMessage, responseTo, type SipMessage } from '../../support/sip/sip-message.js';

export interface SipTarget {
  readonly host: string;
  readonly port: number;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

const T1_MS = 500;
const TRANSACTION_TIMEOUT_MS = 32_000;

const token = (bytes = 6) => randomBytes(bytes).toString('hex');

type Listener = (message: SipMessage) => void;

export class SipUserAgent {
  /** Call-ID → the call that handles what arrives for it. */
  private readonly calls = new Map<string, Listener>();

  private constructor(
    private readonly socket: Socket,
    readonly target: SipTarget,
  ) {
    socket.on('message', (data) => this.arrive(data));
    socket.on('error', () => undefined);
  }

  static async open(target: SipTarget): Promise<SipUserAgent> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    // Many calls share this socket: give it room for bursts of responses.
    socket.setRecvBufferSize(4 * 1024 * 1024);
    return new SipUserAgent(socket, target);
  }

  get hostport(): string {
    return `127.0.0.1:${this.socket.address().port}`;
  }

  send(text: string): void {
    this.socket.send(Buffer.from(text, 'utf8'), this.target.port, this.target.host);
  }

  listen(callId: string, listener: Listener): void {
    this.calls.set(callId, listener);
  }

  forget(callId: string): void {
    this.calls.delete(callId);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private arrive(data: Buffer): void {
    const message = parseSipMessage(data.toString('utf8'));
    if (!message) return;
    const callId = header(message, 'call-id');
    const listener = callId === undefined ? undefined : this.calls.get(callId);
    if (listener) return listener(message);
    // A request for a call we no longer know (a late BYE): answer 481 so it stops.
    if (message.method && message.method !== 'ACK') this.send(responseTo(message, 481, 'Call/Transaction Does Not Exist'));
  }
}

export interface AnsweredMedia {
  /** Where the gateway receives this call's RTP (c= and m=audio of its answer). */
  readonly ip: string;
  readonly port: number;
  /** The payload type it answered with. */
  readonly payloadType: number;
}

/** One call: dial() → answered media; hangUp() sends BYE and waits for its 200. */
export class SipCall {
  readonly callId = `${token(12)}@bench`;
  private readonly fromTag = token(4);
  private cseq = 1;
  private remoteTarget: string;
  private toHeader: string;
  private pending: { cseq: number; method: string; onResponse: (m: SipMessage) => void } | undefined;
  private ackFor200: string | undefined;
  private ended = false;
  /** Set when the gateway ended the call itself (BYE from its side). */
  hungUpByGateway = false;

  constructor(
    private readonly ua: SipUserAgent,
    private readonly requestUri: string,
    private readonly credentials: Credentials,
    private readonly displayName: string,
  ) {
    this.remoteTarget = requestUri;
    this.toHeader = `<${requestUri}>`;
    ua.listen(this.callId, (m) => this.arrive(m));
  }

  /** INVITE → 401 → INVITE with credentials → 200 → ACK. Rejects with the final status otherwise. */
  async dial(sdp: string): Promise<AnsweredMedia> {
    const challenge = await this.transaction('INVITE', (cseq, branch) => this.invite(cseq, branch, sdp));
    if (challenge.status !== 401) {
      this.ackFailure(challenge);
      if (challenge.status! >= 200 && challenge.status! < 300) throw new Error('200 OK without credentials');
      throw new Error(`INVITE answered ${challenge.firstLine}`);
    }
    this.ackFailure(challenge);
    const authorization = this.authorization(challenge);
    const answer = await this.transaction('INVITE', (cseq, branch) => this.invite(cseq, branch, sdp, authorization));
    if (answer.status !== 200) {
      this.ackFailure(answer);
      throw new Error(`authenticated INVITE answered ${answer.firstLine}`);
    }
    this.toHeader = header(answer, 'to') ?? this.toHeader;
    this.remoteTarget = /<([^>]+)>/.exec(header(answer, 'contact') ?? '')?.[1] ?? this.requestUri;
    this.ackFor200 = this.request('ACK', (header(answer, 'cseq') ?? '').split(' ')[0]!, `z9hG4bK${token()}`);
    this.ua.send(this.ackFor200);
    const ip = /^c=IN IP4 (\S+)/m.exec(answer.body)?.[1];
    const media = /^m=audio (\d+) RTP\/AVP (\d+)/m.exec(answer.body);
    if (!ip || !media) throw new Error(`200 OK without a usable SDP answer: ${answer.body}`);
    return { ip, port: Number(media[1]), payloadType: Number(media[2]) };
  }

  /** BYE, waiting for the gateway's answer (a call it already ended answers 481, also fine). */
  async hangUp(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    try {
      if (this.ackFor200 && !this.hungUpByGateway) {
        await this.transaction('BYE', (cseq, branch) => this.request('BYE', String(cseq), branch));
      }
    } finally {
      this.ua.forget(this.callId);
    }
  }

  private invite(cseq: number, branch: string, sdp: string, authorization?: string): string {
    const lines = [
      `INVITE ${this.requestUri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${this.ua.hostport};rport;branch=${branch}`,
      'Max-Forwards: 70',
      `From: "${this.displayName}" <sip:${this.credentials.username}@127.0.0.1>;tag=${this.fromTag}`,
      `To: <${this.requestUri}>`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${cseq} INVITE`,
      `Contact: <sip:${this.credentials.username}@${this.ua.hostport}>`,
      ...(authorization ? [`Authorization: ${authorization}`] : []),
      'Content-Type: application/sdp',
      `Content-Length: ${Buffer.byteLength(sdp)}`,
      '',
      sdp,
    ];
    return lines.join('\r\n');
  }

  private request(method: 'ACK' | 'BYE', cseq: string, branch: string): string {
    return [
      `${method} ${this.remoteTarget} SIP/2.0`,
      `Via: SIP/2.0/UDP ${this.ua.hostport};rport;branch=${branch}`,
      'Max-Forwards: 70',
      `From: "${this.displayName}" <sip:${this.credentials.username}@127.0.0.1>;tag=${this.fromTag}`,
      `To: ${this.toHeader}`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${cseq} ${method}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  }

  /** The ACK for a non-2xx final response (same branch as the INVITE it answers). */
  private ackFailure(response: SipMessage): void {
    const via = header(response, 'via') ?? '';
    const branch = /branch=([^;\s,]+)/.exec(via)?.[1] ?? `z9hG4bK${token()}`;
    this.ua.send(
      failureAck({
        requestUri: this.requestUri,
        via: `SIP/2.0/UDP ${this.ua.hostport};rport;branch=${branch}`,
        from: header(response, 'from') ?? '',
        to: header(response, 'to') ?? '',
        callId: this.callId,
        cseq: (header(response, 'cseq') ?? '').split(' ')[0]!,
      }),
    );
  }

  private authorization(challenge: SipMessage): string {
    const values = challenge.headers.get('www-authenticate') ?? [];
    const md5 = values.map(parseDigest).find((c) => (c.algorithm ?? 'MD5').toUpperCase() === 'MD5');
    if (!md5) throw new Error(`no MD5 challenge in: ${challenge.firstLine}`);
    const params = {
      username: this.credentials.username,
      realm: md5.realm ?? '',
      nonce: md5.nonce ?? '',
      uri: this.requestUri,
      cnonce: token(4),
      nc: '00000001',
      qop: 'auth',
    };
    const response = digestResponse('INVITE', this.credentials.password, params);
    return `Digest username="${params.username}", realm="${params.realm}", nonce="${params.nonce}", uri="${params.uri}", response="${response}", algorithm=MD5, cnonce="${params.cnonce}", nc=${params.nc}, qop=auth`;
  }

  /**
   * Sends a request and resolves with its final response, retransmitting (T1 doubling,
   * capped at 4 s for non-INVITE) until any response arrives; INVITE stops retransmitting
   * at the first provisional response.
   */
  private transaction(method: 'INVITE' | 'BYE', build: (cseq: number, branch: string) => string): Promise<SipMessage> {
    const cseq = this.cseq++;
    const text = build(cseq, `z9hG4bK${token()}`);
    return new Promise<SipMessage>((resolve, reject) => {
      let interval = T1_MS;
      let provisional = false;
      let retransmit: NodeJS.Timeout | undefined;
      const schedule = () => {
        retransmit = setTimeout(() => {
          if (provisional && method === 'INVITE') return;
          this.ua.send(text);
          interval = method === 'INVITE' ? interval * 2 : Math.min(interval * 2, 4000);
          schedule();
        }, interval);
      };
      const giveUp = setTimeout(() => {
        clearTimeout(retransmit);
        this.pending = undefined;
        reject(new Error(`${method} ${this.requestUri}: no final response within ${TRANSACTION_TIMEOUT_MS / 1000} s`));
      }, TRANSACTION_TIMEOUT_MS);
      this.pending = {
        cseq,
        method,
        onResponse: (m) => {
          if (m.status! < 200) {
            provisional = true;
            return;
          }
          clearTimeout(retransmit);
          clearTimeout(giveUp);
          this.pending = undefined;
          resolve(m);
        },
      };
      this.ua.send(text);
      schedule();
    });
  }

  private arrive(m: SipMessage): void {
    if (m.method) {
      if (m.method === 'BYE') {
        this.hungUpByGateway = true;
        this.ua.send(responseTo(m, 200, 'OK'));
      } else if (m.method !== 'ACK') {
        // Nothing else is expected mid-call; a re-INVITE is refused, anything else acknowledged.
        this.ua.send(m.method === 'INVITE' ? responseTo(m, 488, 'Not Acceptable Here') : responseTo(m, 200, 'OK'));
      }
      return;
    }
    const [cseqText, method] = (header(m, 'cseq') ?? '').split(' ');
    const cseq = Number(cseqText);
    if (this.pending && this.pending.cseq === cseq && this.pending.method === method) return this.pending.onResponse(m);
    // A retransmitted 200 OK for our INVITE: our ACK was lost, send it again.
    if (method === 'INVITE' && m.status === 200 && this.ackFor200) this.ua.send(this.ackFor200);
  }
}
