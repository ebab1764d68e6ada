/**
 * A tiny SIP UAS on loopback, the far end for the harness's own tests (not the gateway):
 * it answers baresip's INVITE with 100 + 200 and an SDP for one codec, or with an error,
 * optionally after a digest challenge, and answers re-INVITEs and BYE.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseSdp, type MediaAttributes } from 'sdp-transform';
import { SipStreamFramer } from '../../src/drachtio-standin/sip-stream-framer.js';
import type { PhoneCodec } from '../support/phone/baresip.js';
import { header, parseSipMessage, responseTo, type SipRequest } from '../support/sip/sip-message.js';

export interface MiniUasOptions {
  readonly transport?: 'udp' | 'tcp';
  /** The codec the answer picks from baresip's offer. */
  readonly codec: PhoneCodec;
  /** Where the answer tells baresip to send RTP. */
  readonly rtpPort: number;
  /** Final response to every INVITE instead of 200. */
  readonly reject?: { readonly status: number; readonly reason: string };
  /** Challenges INVITEs without credentials (401, MD5, qop=auth); wrong ones get 403. */
  readonly credentials?: { readonly username: string; readonly password: string };
  /** A provisional response before the 200: 180 Ringing, or 183 with the SDP (early media). */
  readonly provisional?: 180 | 183;
}

export interface OfferedMedia {
  readonly address: string;
  readonly port: number;
  /** Payload type by lower-case encoding name ("pcmu", "telephone-event"). */
  readonly payloadTypes: ReadonlyMap<string, number>;
  readonly direction: string;
}

export interface Exchange {
  readonly request: SipRequest;
  /** Our final response (none for ACK). */
  readonly status?: number;
  /** The SDP offer of an INVITE. */
  readonly offer?: OfferedMedia;
  /** Sends a message back the way the request came (the UDP source, or its TCP connection). */
  readonly send: (text: string) => void;
}

const REALM = 'harness';
/** G.722 keeps the 8000 clock rate in SDP for historical reasons (RFC 3551 4.5.2). */
const RTPMAP: Record<PhoneCodec, string> = { PCMU: 'PCMU/8000', PCMA: 'PCMA/8000', G722: 'G722/8000', opus: 'opus/48000/2' };
/** The answer's direction for each offered one (RFC 3264 6.1). */
const ANSWER_DIRECTION: Record<string, string> = { sendonly: 'recvonly', recvonly: 'sendonly', inactive: 'inactive', sendrecv: 'sendrecv' };

export class MiniUas {
  readonly exchanges: Exchange[] = [];
  private readonly toTag = randomBytes(6).toString('hex');
  private readonly nonce = randomBytes(12).toString('hex');

  private constructor(
    private readonly options: MiniUasOptions,
    readonly port: number,
    private readonly shut: () => Promise<void>,
  ) {}

  static async start(options: MiniUasOptions): Promise<MiniUas> {
    return options.transport === 'tcp' ? MiniUas.startTcp(options) : MiniUas.startUdp(options);
  }

  /** host:port to give the phone as its sip server. */
  get hostport(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** baresip's media from the latest INVITE offer (where to send RTP). */
  get offer(): OfferedMedia | undefined {
    return this.exchanges.findLast((e) => e.offer)?.offer;
  }

  /** Waits until the exchanges seen so far satisfy the predicate. */
  async waitFor(predicate: (exchanges: readonly Exchange[]) => boolean, what: string, timeoutMs = 3_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!predicate(this.exchanges)) {
      if (performance.now() > deadline) {
        const seen = this.exchanges.map((e) => `${e.request.method}${e.status ? `→${e.status}` : ''}`).join(', ');
        throw new Error(`UAS: no ${what} within ${timeoutMs} ms (seen: ${seen || 'nothing'})`);
      }
      await sleep(10);
    }
  }

  /** Ends the latest answered call with a BYE of our own. */
  hangup(): void {
    const invite = this.exchanges.findLast((e) => e.request.method === 'INVITE' && e.status === 200);
    if (!invite) throw new Error('UAS: no answered call to hang up');
    const { request, send } = invite;
    const contact = /<([^>]+)>/.exec(header(request, 'Contact') ?? '')?.[1] ?? request.uri;
    const transport = this.options.transport === 'tcp' ? 'TCP' : 'UDP';
    send(
      [
        `BYE ${contact} SIP/2.0`,
        `Via: SIP/2.0/${transport} 127.0.0.1:${this.port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
        'Max-Forwards: 70',
        `From: ${header(request, 'To')};tag=${this.toTag}`,
        `To: ${header(request, 'From')}`,
        `Call-ID: ${header(request, 'Call-ID')}`,
        'CSeq: 1 BYE',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  }

  close(): Promise<void> {
    return this.shut();
  }

  private static async startUdp(options: MiniUasOptions): Promise<MiniUas> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const uas = new MiniUas(options, socket.address().port, () => new Promise((resolve) => socket.close(() => resolve())));
    socket.on('message', (data, from) => uas.receive(data.toString('utf8'), (text) => socket.send(text, from.port, from.address)));
    return uas;
  }

  private static async startTcp(options: MiniUasOptions): Promise<MiniUas> {
    const connections = new Set<Socket>();
    const server: Server = createServer((connection) => {
      connections.add(connection);
      connection.on('close', () => connections.delete(connection));
      const framer = new SipStreamFramer();
      connection.on('data', (chunk: Buffer) => {
        for (const message of framer.push(chunk).messages) uas.receive(message.toString('utf8'), (reply) => connection.write(reply));
      });
      connection.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const uas: MiniUas = new MiniUas(options, port, async () => {
      for (const connection of connections) connection.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return uas;
  }

  private receive(text: string, send: (text: string) => void): void {
    const request = parseSipMessage(text);
    if (request?.method === undefined) return; // responses (to our BYE) and keep-alives need no handling
    const respond = (status: number, reason: string, extra: { extraHeaders?: string[]; sdp?: string } = {}) =>
      send(responseTo(request, status, reason, { toTag: this.toTag, ...extra }));

    if (request.method === 'ACK') {
      this.exchanges.push({ request, send });
    } else if (request.method === 'INVITE') {
      const offer = offeredMedia(request.body);
      const status = this.answerInvite(request, offer, respond);
      this.exchanges.push({ request, status, offer, send });
    } else {
      respond(200, 'OK'); // BYE, and anything else baresip might send in the dialog
      this.exchanges.push({ request, status: 200, send });
    }
  }

  private answerInvite(
    request: SipRequest,
    offer: OfferedMedia | undefined,
    respond: (status: number, reason: string, extra?: { extraHeaders?: string[]; sdp?: string }) => void,
  ): number {
    respond(100, 'Trying');
    const { reject, credentials } = this.options;
    if (reject) {
      respond(reject.status, reject.reason);
      return reject.status;
    }
    if (credentials) {
      const authorization = header(request, 'Authorization');
      if (!authorization) {
        respond(401, 'Unauthorized', { extraHeaders: [`WWW-Authenticate: Digest realm="${REALM}", nonce="${this.nonce}", qop="auth", algorithm=MD5`] });
        return 401;
      }
      if (!this.validDigest(request.method, authorization, credentials)) {
        respond(403, 'Forbidden');
        return 403;
      }
    }
    const sdp = offer && this.answerSdp(offer);
    if (!sdp) {
      respond(488, 'Not Acceptable Here');
      return 488;
    }
    const transport = this.options.transport === 'tcp' ? ';transport=tcp' : '';
    const contact = `Contact: <sip:uas@127.0.0.1:${this.port}${transport}>`;
    if (this.options.provisional === 180) respond(180, 'Ringing', { extraHeaders: [contact] });
    if (this.options.provisional === 183) respond(183, 'Session Progress', { extraHeaders: [contact], sdp });
    respond(200, 'OK', { extraHeaders: [contact], sdp });
    return 200;
  }

  private answerSdp(offer: OfferedMedia): string | undefined {
    const codec = this.options.codec.toLowerCase();
    const payloadType = offer.payloadTypes.get(codec);
    const events = offer.payloadTypes.get('telephone-event');
    if (payloadType === undefined) return undefined;
    return [
      'v=0',
      `o=uas 1 ${this.exchanges.length + 1} IN IP4 127.0.0.1`,
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${this.options.rtpPort} RTP/AVP ${payloadType}${events === undefined ? '' : ` ${events}`}`,
      `a=rtpmap:${payloadType} ${RTPMAP[this.options.codec]}`,
      ...(events === undefined ? [] : [`a=rtpmap:${events} telephone-event/8000`, `a=fmtp:${events} 0-15`]),
      'a=ptime:20',
      `a=${ANSWER_DIRECTION[offer.direction] ?? 'sendrecv'}`,
      '',
    ].join('\r\n');
  }

  private validDigest(method: string, authorization: string, { username, password }: { username: string; password: string }): boolean {
    const p = Object.fromEntries([...authorization.matchAll(/(\w+)="?([^",]*)"?/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    const md5 = (text: string) => createHash('md5').update(text).digest('hex');
    const ha1 = md5(`${username}:${REALM}:${password}`);
    const ha2 = md5(`${method}:${p.uri}`);
    return p.username === username && p.nonce === this.nonce && p.response === md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`);
  }
}

function offeredMedia(body: string): OfferedMedia | undefined {
  if (!body.trim()) return undefined;
  const session = parseSdp(body);
  const audio = session.media.find((m) => m.type === 'audio');
  const address = audio?.connection?.ip ?? session.connection?.ip;
  if (!audio || !address) return undefined;
  const direction: MediaAttributes['direction'] = audio.direction ?? session.direction ?? 'sendrecv';
  return {
    address,
    port: audio.port,
    payloadTypes: new Map(audio.rtp.map((r) => [r.codec.toLowerCase(), r.payload])),
    direction,
  };
}
