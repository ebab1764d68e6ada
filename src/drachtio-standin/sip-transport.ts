/**
 * The stand-in's SIP network side: one UDP socket and one TCP listener on the same
 * address and port, plus the TCP connections peers open to it (or it opens to them).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createConnection, createServer, isIPv6, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { SipStreamFramer, type SipFramingError } from './sip-stream-framer.js';

export type TransportName = 'udp' | 'tcp';

/** Where a message came from or goes to. For TCP, address/port identify the connection's far end. */
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

function connectionKey(address: string, port: number): string {
  return `${address}|${port}`;
}

export class SipTransport {
  private readonly connections = new Map<string, Socket>();
  private readonly waitingForInput: Array<() => void> = [];
  private datagramsThisTurn = 0;
  private closed = false;

  private constructor(
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
    readonly host: string,
    readonly port: number,
    private readonly options: SipTransportOptions,
  ) {
    udp.on('message', (data, rinfo) => {
      this.datagramsThisTurn++;
      this.deliver(data, { transport: 'udp', address: plainAddress(rinfo.address), port: rinfo.port });
    });
    udp.on('error', (err) => options.log.warn({ err }, 'SIP UDP socket error'));
    tcp.on('connection', (socket) => this.adopt(socket));
  }

  static async open(options: SipTransportOptions): Promise<SipTransport> {
    for (let attempt = 0; ; attempt++) {
      const udp = await bindUdp(options.host, options.port);
      const port = udp.address().port;
      try {
        const tcp = await listenTcp(options.host, port);
        sizeBuffers(udp, options.log);
        return new SipTransport(udp, tcp, options.host, port, options);
      } catch (err) {
        await new Promise<void>((resolve) => udp.close(() => resolve()));
        const retryable = options.port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (!retryable || attempt + 1 >= EPHEMERAL_ATTEMPTS) throw err;
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
    const socket = this.connections.get(connectionKey(peer.address, peer.port)) ?? this.connect(peer);
    socket.write(data);
  }

  hasConnection(peer: Peer): boolean {
    return peer.transport === 'tcp' && this.connections.has(connectionKey(peer.address, peer.port));
  }

  /** Ends a TCP connection once pending writes are flushed, as sofia does after rejecting a broken stream message. */
  shutdown(peer: Peer): void {
    if (peer.transport === 'tcp') this.connections.get(connectionKey(peer.address, peer.port))?.end();
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

  private connect(peer: Peer): Socket {
    const socket = createConnection({ host: peer.address, port: peer.port });
    this.track(socket, peer.address, peer.port);
    return socket;
  }

  private adopt(socket: Socket): void {
    this.track(socket, plainAddress(socket.remoteAddress), socket.remotePort ?? 0);
  }

  private track(socket: Socket, address: string, port: number): void {
    const key = connectionKey(address, port);
    const peer: Peer = { transport: 'tcp', address, port };
    const framer = new SipStreamFramer();
    this.connections.set(key, socket);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let framed;
      try {
        framed = framer.push(chunk);
      } catch (err) {
        this.options.log.warn({ peer, reason: (err as SipFramingError).message }, 'closing SIP TCP connection');
        socket.destroy();
        return;
      }
      for (let i = 0; i < framed.pings; i++) socket.write('\r\n');
      for (const message of framed.messages.slice(0, framed.afterKeepAlive)) this.deliver(message, peer);
      if (framed.afterKeepAlive !== undefined) {
        this.options.log.debug({ peer }, 'closing SIP TCP connection: a message after CRLF keep-alives in one read (sofia-sip cannot read it)');
        socket.destroy();
      }
    });
    socket.on('error', (err) => this.options.log.debug({ err, peer }, 'SIP TCP connection error'));
    socket.on('close', () => {
      if (this.connections.get(key) === socket) this.connections.delete(key);
    });
  }
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
