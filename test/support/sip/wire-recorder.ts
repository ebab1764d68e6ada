/**
 * A TCP relay between a drachtio-srf app and the drachtio server under test that records
 * every wire-protocol frame in both directions. It observes from outside, so it works the
 * same against the stand-in and a real drachtio-server.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { FrameDecoder, parseWireMessage, type WireMessage } from '../../../src/drachtio-standin/wire-codec.js';
import type { HostPort } from './drachtio-target.js';

export interface WireFrame {
  readonly direction: 'to-server' | 'from-server';
  /** The frame body (after `<length>#`). */
  readonly body: string;
  /** The length prefix as sent, for checking it against the body's byte length. */
  readonly declaredLength: number;
  readonly message: WireMessage;
  /** performance.now() when the relay saw it. */
  readonly at: number;
}

type Waiter = { match: (f: WireFrame) => boolean; resolve: (f: WireFrame) => void };

/** Re-reads the raw stream to pair each frame with the length prefix it was sent with. */
function lengthPrefixes(raw: Buffer): number[] {
  const lengths: number[] = [];
  let offset = 0;
  while (offset < raw.length) {
    const hash = raw.indexOf('#', offset);
    if (hash === -1) break;
    const length = Number(raw.toString('ascii', offset, hash));
    lengths.push(length);
    offset = hash + 1 + length;
  }
  return lengths;
}

export class WireRecorder {
  readonly frames: WireFrame[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly address: HostPort,
  ) {}

  static async start(upstream: HostPort): Promise<WireRecorder> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const recorder = new WireRecorder(server, { host: '127.0.0.1', port: (server.address() as { port: number }).port });
    server.on('connection', (client) => recorder.relay(client, upstream));
    return recorder;
  }

  /** The first recorded frame (from now or already seen) matching `match`. */
  waitFor(match: (f: WireFrame) => boolean, timeoutMs = 3000): Promise<WireFrame> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no matching wire frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /**
   * Resolves once the server has answered the app's route for `verb` ('invite', ...):
   * drachtio-srf's 'connect' can come before that, and a real server answers 503 meanwhile.
   */
  async routeTaken(verb: string): Promise<void> {
    const route = await this.waitFor((f) => f.direction === 'to-server' && f.message.type === 'route' && f.message.args[0] === verb);
    await this.waitFor((f) => f.direction === 'from-server' && f.message.type === 'response' && f.message.args[0] === route.message.id);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket, upstream: HostPort): void {
    const server = createConnection({ host: upstream.host, port: upstream.port });
    this.sockets.add(client);
    this.sockets.add(server);
    this.pipe(client, server, 'to-server');
    this.pipe(server, client, 'from-server');
  }

  private pipe(from: Socket, to: Socket, direction: WireFrame['direction']): void {
    const decoder = new FrameDecoder();
    let raw = Buffer.alloc(0);
    let recorded = 0;
    from.on('data', (chunk: Buffer) => {
      to.write(chunk);
      raw = Buffer.concat([raw, chunk]);
      const lengths = lengthPrefixes(raw);
      for (const body of decoder.push(chunk)) {
        this.record({ direction, body, declaredLength: lengths[recorded++] ?? -1, message: parseWireMessage(body), at: performance.now() });
      }
    });
    from.on('end', () => to.end());
    from.on('close', () => {
      this.sockets.delete(from);
      to.destroy();
    });
    from.on('error', () => undefined);
  }

  private record(frame: WireFrame): void {
    this.frames.push(frame);
    for (const waiter of this.waiters) {
      if (waiter.match(frame)) {
        this.waiters.delete(waiter);
        waiter.resolve(frame);
      }
    }
  }
}
