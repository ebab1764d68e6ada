/**
 * A scripted SIP caller over a raw SipPeer: builds INVITEs (with or without SDP and
 * digest credentials), so tests can send exactly the request a case needs.
 */
import { randomUUID } from 'node:crypto';
import { digestResponse, parseDigest } from './digest.js';
import { header, headerValues } from './sip-message.js';
import type { ReceivedSip, SipPeer } from './sip-peer.js';

export interface CallerIdentity {
  readonly username: string;
  readonly password: string;
}

export const PCMU_OFFER = (port: number) =>
  'v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
  `m=audio ${port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n`;

/** The ACK for a non-2xx final response: the INVITE's Via branch, the response's From and To (RFC 3261 §17.1.1.3). */
export function failureAck(fields: { requestUri: string; via: string; from: string; to: string; callId: string; cseq: string }): string {
  return [
    `ACK ${fields.requestUri} SIP/2.0`,
    `Via: ${fields.via}`,
    'Max-Forwards: 70',
    `From: ${fields.from}`,
    `To: ${fields.to}`,
    `Call-ID: ${fields.callId}`,
    `CSeq: ${fields.cseq} ACK`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** The caller's route set from a 2xx's Record-Route entries, last first. */
function routeSet(answer: ReceivedSip): string[] {
  return headerValues(answer.text, 'Record-Route')
    .flatMap((value) => value.match(/<[^>]+>/g) ?? [])
    .reverse();
}

export class SipCaller {
  readonly callId = `${randomUUID()}@test`;
  private cseq = 1;
  readonly fromTag = randomUUID().slice(0, 8);
  branch = '';

  constructor(
    private readonly peer: SipPeer,
    private readonly requestUri: string,
    /** The To URI: the Request-URI unless the call goes to a Contact (a registered binding). */
    private readonly toUri = requestUri,
  ) {}

  invite(options: { body?: string; authorization?: string; contentType?: string; headers?: Readonly<Record<string, string>> } = {}): string {
    this.branch = `z9hG4bK${randomUUID().slice(0, 12)}`;
    const body = options.body ?? '';
    const lines = [
      `INVITE ${this.requestUri} SIP/2.0`,
      `Via: SIP/2.0/${this.peer.transport.toUpperCase()} ${this.peer.hostport};rport;branch=${this.branch}`,
      'Max-Forwards: 70',
      `From: "+1 (415) 555-0123" <sip:+14155550123@127.0.0.1>;tag=${this.fromTag}`,
      `To: <${this.toUri}>`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${this.cseq++} INVITE`,
      `Contact: <${this.contactUri}>`,
      ...(options.authorization ? [`Authorization: ${options.authorization}`] : []),
      ...Object.entries(options.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
      ...(body ? [`Content-Type: ${options.contentType ?? 'application/sdp'}`] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ];
    const text = lines.join('\r\n');
    this.peer.send(text);
    return text;
  }

  /** The ACK for a non-2xx final response to the last INVITE (same branch, RFC 3261 §17.1.1.3). */
  ackFailure(response: ReceivedSip): void {
    this.peer.send(
      failureAck({
        requestUri: this.requestUri,
        via: `SIP/2.0/${this.peer.transport.toUpperCase()} ${this.peer.hostport};rport;branch=${this.branch}`,
        from: header(response.text, 'From') ?? '',
        to: header(response.text, 'To') ?? '',
        callId: this.callId,
        cseq: (header(response.text, 'CSeq') ?? '').split(' ')[0]!,
      }),
    );
  }

  /**
   * A request inside the dialog a 200 OK established: the ACK for that 200 (with the
   * answer to a late offer as its body), a re-INVITE, INFO or BYE.
   */
  inDialog(answer: ReceivedSip, method: 'ACK' | 'INVITE' | 'INFO' | 'BYE', options: { body?: string; contentType?: string } = {}): string {
    const cseq = method === 'ACK' ? (header(answer.text, 'CSeq') ?? '').split(' ')[0] : String(this.cseq++);
    const contact = /<([^>]+)>/.exec(header(answer.text, 'Contact') ?? '')?.[1] ?? this.requestUri;
    const body = options.body ?? '';
    const text = [
      `${method} ${contact} SIP/2.0`,
      `Via: SIP/2.0/${this.peer.transport.toUpperCase()} ${this.peer.hostport};rport;branch=z9hG4bK${randomUUID().slice(0, 12)}`,
      'Max-Forwards: 70',
      `From: "+1 (415) 555-0123" <sip:+14155550123@127.0.0.1>;tag=${this.fromTag}`,
      `To: ${header(answer.text, 'To')}`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${cseq} ${method}`,
      // Through a proxy that record-routed (a SIP front): its route set, the 200's Record-Route reversed (RFC 3261 §12.1.2).
      ...routeSet(answer).map((route) => `Route: ${route}`),
      ...(method === 'INVITE' ? [`Contact: <${this.contactUri}>`] : []),
      ...(body ? [`Content-Type: ${options.contentType ?? (method === 'INFO' ? 'application/dtmf-relay' : 'application/sdp')}`] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
    this.peer.send(text);
    return text;
  }

  /** Over TLS a sips: Contact (RFC 3261 8.1.1.8: a sips Request-URI calls for one), reached through the TLS connection. */
  private get contactUri(): string {
    return this.peer.transport === 'tls' ? `sips:caller@${this.peer.hostport};transport=tls` : `sip:caller@${this.peer.hostport}`;
  }

  /** An OPTIONS out of any dialog, as a SIP front's health probe or a phone's keep-alive sends it. */
  options(): void {
    this.peer.send(
      [
        `OPTIONS ${this.requestUri} SIP/2.0`,
        `Via: SIP/2.0/${this.peer.transport.toUpperCase()} ${this.peer.hostport};rport;branch=z9hG4bK${randomUUID().slice(0, 12)}`,
        'Max-Forwards: 70',
        `From: <sip:probe@127.0.0.1>;tag=${this.fromTag}`,
        `To: <${this.toUri}>`,
        `Call-ID: ${this.callId}`,
        `CSeq: ${this.cseq++} OPTIONS`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  }

  cancel(): void {
    this.peer.send(
      [
        `CANCEL ${this.requestUri} SIP/2.0`,
        `Via: SIP/2.0/${this.peer.transport.toUpperCase()} ${this.peer.hostport};rport;branch=${this.branch}`,
        'Max-Forwards: 70',
        `From: "+1 (415) 555-0123" <sip:+14155550123@127.0.0.1>;tag=${this.fromTag}`,
        `To: <${this.toUri}>`,
        `Call-ID: ${this.callId}`,
        `CSeq: ${this.cseq - 1} CANCEL`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  }

  /** An MD5 qop=auth Authorization answering a 401's MD5 challenge. */
  authorization(challengeResponse: ReceivedSip, identity: CallerIdentity, nc = '00000001'): string {
    const challenge = headerValues(challengeResponse.text, 'WWW-Authenticate').map(parseDigest).find((c) => c.algorithm === 'MD5');
    if (!challenge) throw new Error('no MD5 challenge in the 401');
    const params = {
      username: identity.username,
      realm: challenge.realm ?? '',
      nonce: challenge.nonce ?? '',
      uri: this.requestUri,
      cnonce: 'c0ffee42',
      nc,
      qop: 'auth',
    };
    const response = digestResponse('INVITE', identity.password, params);
    return `Digest username="${params.username}", realm="${params.realm}", nonce="${params.nonce}", uri="${params.uri}", response="${response}", algorithm=MD5, cnonce="${params.cnonce}", nc=${nc}, qop=auth`;
  }
}

