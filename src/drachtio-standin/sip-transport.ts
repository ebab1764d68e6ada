/**
 * The stand-in's SIP network side: one UDP socket and one TCP listener on the same
 * address and port, optionally a TLS listener on a port of its own, plus the TCP and TLS
 * connections peers open to it (or it opens to them).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createConnection, createServer, isIP, isIPv6, type Server, type Socket } from 'node:net';
import { connect as connectTls, createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { SipStreamFramer, type SipFramingError } from './sip-stream-framer.js';

export type TransportName = 'udp' | 'tcp' | 'tls';

/** Where a message came from or goes to. For TCP and TLS, address/port identify the connection's far end. */
export interface Peer {
  readonly transport: TransportName;
  readonly address: string;
  readonly port: number;
}

export interface SipTransportOptions {
  readonly host: string;
  /** 0 picks a free port that is free for both UDP and TCP. */
  readonly port: number;
  readonly log: Logger;
  readonly onMessage: (data: Buffer, source: Peer) => void;
  /** SIP over TLS on the same host; absent: no TLS listener. */
  readonly tls?: SipTlsOptions;
  /** How the TLS connections we open check the far end's certificate; absent: not at all, as drachtio-server v0.9.10. */
  readonly tlsPeerVerification?: TlsPeerVerification;
  /** A TCP or TLS connection we opened failed before it carried anything (refused, unreachable, handshake or certificate refused). */
  readonly onConnectFailed?: (peer: Peer, reason: string) => void;
}

/** Checking the certificate of a TLS peer we connect to: its chain (against `ca`, else the system's CAs) and its name. */
export interface TlsPeerVerification {
  /** PEM CA certificates trusted instead of the system's. */
  readonly ca?: string | Buffer;
}

export interface SipTlsOptions {
  /** 0 picks a free one. */
  readonly port: number;
  /** PEM certificate (chain) and private key. The key is never logged. */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

/** Stream transports carry SIP framed by Content-Length over a connection (RFC 3261 18.3). */
export function isStream(transport: TransportName): boolean {
  return transport !== 'udp';
}

const EPHEMERAL_ATTEMPTS = 10;
/**
 * Socket buffers for bursts: Linux's default (~208 KiB) holds about a hundred datagrams,
 * under a second of a busy edge's SIP. The kernel caps the request at net.core.rmem_max
 * and net.core.wmem_max.
 */
const UDP_BUFFER_BYTES = 4 * 1024 * 1024;
/** libuv reads at most this many datagrams from a socket per turn of the event loop. */
const UDP_READS_PER_TURN = 32;
/** How many turns a due retransmission waits at most while datagrams keep arriving in full batches. */
const MAX_INPUT_TURNS = 64;

function plainAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
}

function connectionKey(peer: Peer): string {
  return `${peer.transport}|${peer.address}|${peer.port}`;
}

export class SipTransport {
  private readonly connections = new Map<string, Socket>();
  private readonly waitingForInput: Array<() => void> = [];
  private datagramsThisTurn = 0;
  private closed = false;

  private constructor(
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
    private readonly tls: TlsServer | undefined,
    readonly host: string,
    readonly port: number,
    private readonly options: SipTransportOptions,
  ) {
    udp.on('message', (data, rinfo) => {
      this.datagramsThisTurn++;
      this.deliver(data, { transport: 'udp', address: plainAddress(rinfo.address), port: rinfo.port });
    });
    udp.on('error', (err) => options.log.warn({ err }, 'SIP UDP socket error'));
    tcp.on('connection', (socket) => this.adopt(socket, 'tcp'));
    tls?.on('secureConnection', (socket) => this.adopt(socket, 'tls'));
    // A failed handshake (plain text, a scanner, a client refusing our certificate) ends that connection only.
    tls?.on('tlsClientError', (err, socket) => {
      options.log.debug({ reason: err.message, peer: { transport: 'tls', address: plainAddress(socket.remoteAddress), port: socket.remotePort } }, 'SIP TLS handshake failed');
      socket.destroy();
    });
  }

  /** The TLS listener's port; undefined without TLS. */
  get tlsPort(): number | undefined {
    return this.tls ? (this.tls.address() as { port: number }).port : undefined;
  }

  static async open(options: SipTransportOptions): Promise<SipTransport> {
    for (let attempt = 0; ; attempt++) {
      const udp = await bindUdp(options.host, options.port);
      const port = udp.address().port;
      let tcp: Server;
      try {
        tcp = await listenTcp(options.host, port);
      } catch (err) {
        await new Promise<void>((resolve) => udp.close(() => resolve()));
        // The free UDP port was taken for TCP: another one may be free for both.
        const retryable = options.port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (!retryable || attempt + 1 >= EPHEMERAL_ATTEMPTS) throw err;
        continue;
      }
      try {
        const tls = options.tls && (await listenTls(options.host, options.tls));
        sizeBuffers(udp, options.log);
        return new SipTransport(udp, tcp, tls, options.host, port, options);
      } catch (err) {
        await Promise.all([new Promise<void>((resolve) => udp.close(() => resolve())), new Promise<void>((resolve) => tcp.close(() => resolve()))]);
        throw err;
      }
    }
  }

  send(peer: Peer, data: Buffer): void {
    this.options.log.trace({ peer, bytes: data.length, line: data.toString('utf8', 0, Math.max(0, data.indexOf('\r\n'))) }, 'SIP sent');
    if (peer.transport === 'udp') {
      this.udp.send(data, peer.port, peer.address, (err) => {
        if (err) this.options.log.warn({ err, peer }, 'SIP UDP send failed');
      });
      return;
    }
    const socket = this.connections.get(connectionKey(peer)) ?? this.connect(peer);
    if (socket) socket.write(data);
  }

  hasConnection(peer: Peer): boolean {
    return isStream(peer.transport) && this.connections.has(connectionKey(peer));
  }

  /** Ends a TCP or TLS connection once pending writes are flushed, as sofia does after rejecting a broken stream message. */
  shutdown(peer: Peer): void {
    if (isStream(peer.transport)) this.connections.get(connectionKey(peer))?.end();
  }

  /**
   * Runs `fn` once the datagrams already waiting on the UDP socket have been read and
   * handled. setImmediate runs after the event loop's poll phase, where they are read; a
   * full batch read in that turn means more may be waiting, so it waits another turn.
   */
  afterPendingInput(fn: () => void): void {
    if (this.closed) return;
    this.waitingForInput.push(fn);
    if (this.waitingForInput.length === 1) this.runAfterInput(1);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waitingForInput.length = 0;
    for (const socket of this.connections.values()) socket.destroy();
    this.connections.clear();
    await Promise.all([
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
      new Promise<void>((resolve) => (this.tls ? this.tls.close(() => resolve()) : resolve())),
    ]);
  }

  private runAfterInput(turn: number): void {
    this.datagramsThisTurn = 0;
    setImmediate(() => {
      if (this.closed) return;
      if (this.datagramsThisTurn >= UDP_READS_PER_TURN && turn < MAX_INPUT_TURNS) return this.runAfterInput(turn + 1);
      for (const fn of this.waitingForInput.splice(0)) fn();
    });
  }

  /** A bug handling one message must not take the listener down with it. */
  private deliver(data: Buffer, source: Peer): void {
    try {
      this.options.onMessage(data, source);
    } catch (err) {
      this.options.log.error({ err, source }, 'failed to handle SIP message');
    }
  }

  private connect(peer: Peer): Socket | undefined {
    if (peer.transport === 'tls' && !this.tls) {
      this.options.log.warn({ peer }, 'no SIP TLS listener: cannot reach a TLS peer');
      queueMicrotask(() => this.options.onConnectFailed?.(peer, 'no SIP TLS listener to send from'));
      return undefined;
    }
    const socket = peer.transport === 'tls' ? this.connectTls(peer) : createConnection({ host: peer.address, port: peer.port });
    let established = false;
    socket.once(peer.transport === 'tls' ? 'secureConnect' : 'connect', () => (established = true));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (established) return;
      this.options.log.info({ peer, reason: err.message }, 'SIP connection to a peer failed');
      this.options.onConnectFailed?.(peer, connectFailure(peer, err));
    });
    this.track(socket, peer);
    return socket;
  }

  private connectTls(peer: Peer): Socket {
    const verification = this.options.tlsPeerVerification;
    return connectTls({
      host: peer.address,
      port: peer.port,
      // SNI takes a name, never an address; the certificate is matched against either (checkServerIdentity).
      ...(isIP(peer.address) === 0 && { servername: peer.address }),
      // Without verification, as sofia-sip's default TLS policy in drachtio-server: no peer certificate is checked.
      rejectUnauthorized: verification !== undefined,
      ...(verification?.ca !== undefined && { ca: verification.ca }),
      cert: this.options.tls?.cert,
      key: this.options.tls?.key,
    });
  }

  private adopt(socket: Socket, transport: 'tcp' | 'tls'): void {
    this.track(socket, { transport, address: plainAddress(socket.remoteAddress), port: socket.remotePort ?? 0 });
  }

  private track(socket: Socket, peer: Peer): void {
    const key = connectionKey(peer);
    const framer = new SipStreamFramer();
    this.connections.set(key, socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let framed;
      try {
        framed = framer.push(chunk);
      } catch (err) {
        this.options.log.warn({ peer, reason: (err as SipFramingError).message }, 'closing SIP stream connection');
        socket.destroy();
        return;
      }
      for (let i = 0; i < framed.pings; i++) socket.write('\r\n');
      for (const message of framed.messages.slice(0, framed.afterKeepAlive)) this.deliver(message, peer);
      if (framed.afterKeepAlive !== undefined) {
        this.options.log.debug({ peer }, 'closing SIP stream connection: a message after CRLF keep-alives in one read (sofia-sip cannot read it)');
        socket.destroy();
      }
    });
    socket.on('error', (err) => this.options.log.debug({ err, peer }, 'SIP stream connection error'));
    socket.on('close', () => {
      if (this.connections.get(key) === socket) this.connections.delete(key);
    });
  }
}

/** Why a connection failed, for the 503 the requests waiting on it get: a refused certificate named as such. */
function connectFailure(peer: Peer, err: NodeJS.ErrnoException): string {
  const where = `${peer.address}:${peer.port}`;
  if (peer.transport === 'tls' && err.code !== undefined && /CERT|SIGNATURE|ISSUER|SELF_SIGNED/.test(err.code)) {
    return `TLS certificate of ${where} not trusted: ${err.message}`;
  }
  return `cannot connect to ${where} over ${peer.transport.toUpperCase()}: ${err.message}`;
}

function sizeBuffers(udp: UdpSocket, log: Logger): void {
  try {
    udp.setRecvBufferSize(UDP_BUFFER_BYTES);
    udp.setSendBufferSize(UDP_BUFFER_BYTES);
  } catch (err) {
    log.warn({ err }, 'could not size the SIP UDP socket buffers');
    return;
  }
  // Linux reports twice what it granted (the doubling covers its bookkeeping).
  const granted = { receive: udp.getRecvBufferSize() / 2, send: udp.getSendBufferSize() / 2 };
  if (granted.receive < UDP_BUFFER_BYTES || granted.send < UDP_BUFFER_BYTES) {
    log.info(
      { asked: UDP_BUFFER_BYTES, granted },
      'SIP UDP socket buffers capped by the kernel; raise net.core.rmem_max and net.core.wmem_max for bursts of traffic',
    );
  }
}

function bindUdp(host: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** A TLS server listening on host:port with the certificate and key, or the listen error. */
function listenTls(host: string, tls: SipTlsOptions): Promise<TlsServer> {
  return new Promise((resolve, reject) => {
    const server = createTlsServer({ cert: tls.cert, key: tls.key });
    server.once('error', reject);
    server.listen(tls.port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** A TCP server listening on host:port, or the listen error (EADDRINUSE...). */
export function listenTcp(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
