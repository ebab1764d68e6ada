/**
 * A raw SIP peer for tests: sends exactly the bytes it is given over UDP, TCP or TLS and queues
 * what comes back, with arrival times, for the test to consume in order.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { type AddressInfo, createConnection, type Socket } from 'node:net';
import { connect as connectTls, createServer as createTlsServer } from 'node:tls';
import { SipStreamFramer } from '../../../src/drachtio-standin/sip-stream-framer.js';
import type { HostPort } from './drachtio-target.js';
import { header } from './sip-message.js';

export interface ReceivedSip {
  readonly text: string;
  readonly data: Buffer;
  /** performance.now() at arrival. */
  readonly at: number;
  readonly from: HostPort;
}

type Waiter = { match: (m: ReceivedSip) => boolean; resolve: (m: ReceivedSip) => void };

export class SipPeer {
  /** Every message received, consumed or not. */
  readonly received: ReceivedSip[] = [];
  private readonly queue: ReceivedSip[] = [];
  private readonly waiters = new Set<Waiter>();
  private closing: Promise<void> | undefined;

  private constructor(
    readonly transport: 'udp' | 'tcp' | 'tls',
    readonly port: number,
    private readonly target: HostPort,
    /** The loopback address it sends from (another 127.x address plays another host). */
    readonly address: string,
    private readonly write: (data: Buffer) => void,
    private readonly shut: () => Promise<void>,
  ) {}

  static async udp(target: HostPort, address = '127.0.0.1'): Promise<SipPeer> {
    const socket: UdpSocket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, address, resolve));
    const peer: SipPeer = new SipPeer(
      'udp',
      socket.address().port,
      target,
      address,
      (data) => socket.send(data, target.port, target.host),
      () => new Promise<void>((resolve) => socket.close(() => resolve())),
    );
    socket.on('message', (data, rinfo) => peer.arrive(data, { host: rinfo.address, port: rinfo.port }));
    return peer;
  }

  static async tcp(target: HostPort): Promise<SipPeer> {
    const socket: Socket = createConnection({ host: target.host, port: target.port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return SipPeer.overStream('tcp', socket, target);
  }

  /** Over TLS, trusting only `ca` (the test's certificate) and checking the server's name against it. */
  static async tls(target: HostPort, ca: string): Promise<SipPeer> {
    const socket = connectTls({ host: target.host, port: target.port, ca });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    return SipPeer.overStream('tls', socket, target);
  }

  /**
   * A TLS server on 127.0.0.1 serving `cert` and `key`, for a callee the gateway dials over
   * TLS: it sends on the latest connection made to it.
   */
  static async tlsServer(identity: { cert: string; key: string }): Promise<SipPeer> {
    const server = createTlsServer({ cert: identity.cert, key: identity.key });
    const sockets = new Set<Socket>();
    let latest: Socket | undefined;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const peer = new SipPeer(
      'tls',
      port,
      { host: '127.0.0.1', port: 0 },
      '127.0.0.1',
      (data) => latest?.write(data),
      async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    );
    server.on('secureConnection', (socket) => {
      sockets.add(socket);
      latest = socket;
      const framer = new SipStreamFramer();
      const from = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
      socket.on('data', (chunk: Buffer) => {
        for (const message of framer.push(chunk).messages) peer.arrive(message, from);
      });
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    });
    server.on('tlsClientError', () => undefined);
    return peer;
  }

  private static overStream(transport: 'tcp' | 'tls', socket: Socket, target: HostPort): SipPeer {
    const framer = new SipStreamFramer();
    const peer: SipPeer = new SipPeer(
      transport,
      socket.localPort!,
      target,
      '127.0.0.1',
      (data) => socket.write(data),
      () =>
        new Promise<void>((resolve) => {
          if (socket.destroyed) return resolve();
          socket.once('close', () => resolve());
          socket.destroy();
        }),
    );
    socket.on('data', (chunk: Buffer) => {
      for (const message of framer.push(chunk).messages) peer.arrive(message, target);
    });
    socket.on('error', () => undefined);
    return peer;
  }

  /** Local address as it appears in Via/Contact of the messages this peer sends. */
  get hostport(): string {
    return `${this.address}:${this.port}`;
  }

  get targetHostport(): string {
    return `${this.target.host}:${this.target.port}`;
  }

  send(message: string | Buffer): void {
    this.write(typeof message === 'string' ? Buffer.from(message, 'utf8') : message);
  }

  /** The next unconsumed message (matching `match`), waiting up to `timeoutMs` for it. */
  next(match: (m: ReceivedSip) => boolean = () => true, timeoutMs = 3000): Promise<ReceivedSip> {
    const index = this.queue.findIndex(match);
    if (index !== -1) return Promise.resolve(this.queue.splice(index, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no matching SIP message within ${timeoutMs} ms; unconsumed: ${this.queue.map((m) => m.text.split('\r\n')[0]).join(' | ') || 'none'}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Resolves with the unconsumed messages (matching `match`) that arrive within `ms`; for asserting silence. */
  async collect(ms: number, match: (m: ReceivedSip) => boolean = () => true): Promise<ReceivedSip[]> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    const found = this.queue.filter(match);
    for (const m of found) this.queue.splice(this.queue.indexOf(m), 1);
    return found;
  }

  /** Idempotent: a file's clean-up may meet a peer an earlier test closed. */
  close(): Promise<void> {
    this.closing ??= this.shut();
    return this.closing;
  }

  private arrive(data: Buffer, from: HostPort): void {
    const message: ReceivedSip = { text: data.toString('utf8'), data, at: performance.now(), from };
    this.received.push(message);
    for (const waiter of this.waiters) {
      if (waiter.match(message)) {
        this.waiters.delete(waiter);
        waiter.resolve(message);
        return;
      }
    }
    this.queue.push(message);
  }
}

export function isResponse(status: number, method?: string): (m: ReceivedSip) => boolean {
  return (m) => m.text.startsWith(`SIP/2.0 ${status} `) && (method === undefined || (header(m.text, 'CSeq') ?? '').endsWith(` ${method}`));
}

/** Any final response (2xx to 6xx). */
export function isFinalResponse(m: ReceivedSip): boolean {
  return /^SIP\/2\.0 [2-6]\d\d /.test(m.text);
}

export function isRequest(method: string): (m: ReceivedSip) => boolean {
  return (m) => m.text.startsWith(`${method} `);
}
