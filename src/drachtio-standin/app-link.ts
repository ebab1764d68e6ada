/**
 * One drachtio-srf application connected to the admin port: the handshake (authenticate,
 * route, ping) handled here, SIP traffic handed to the cores, and the registry that picks
 * which connected app receives a new request or a CDR.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { encodeFrame, FrameDecoder, parseWireMessage, type WireMessage } from './wire-codec.js';
import { nokResponse, noResponse, okResponse } from './wire-messages.js';

export interface AppLinkOptions {
  readonly secret: string;
  /** `tcp/host:port,udp/host:port`, reported back on authentication. */
  readonly hostports: string;
  readonly serverVersion: string;
  readonly log: Logger;
  readonly onSip: (link: AppLink, message: WireMessage) => void;
  /** `proxy|<transaction id>|...`: the app has the stack proxy an INVITE it received. */
  readonly onProxy: (link: AppLink, message: WireMessage) => void;
  readonly onClose: (link: AppLink) => void;
}

function secretMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

let nextLinkId = 1;

export class AppLink {
  readonly id = nextLinkId++;
  /** Lower-case methods (and cdr:* types) this app asked to receive. */
  readonly routes = new Set<string>();
  private authenticated = false;
  /** Frames written since the socket was corked go out in one write once this turn's input is handled. */
  private corked = false;
  private readonly decoder = new FrameDecoder();
  readonly log: Logger;

  constructor(
    private readonly socket: Socket,
    private readonly options: AppLinkOptions,
  ) {
    this.log = options.log.child({ app: this.id });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.log.debug({ err }, 'app connection error'));
    socket.on('close', () => options.onClose(this));
  }

  get isAuthenticated(): boolean {
    return this.authenticated;
  }

  /**
   * Several frames go in one write, so the app reads them together. Under load many
   * datagrams are read in one turn of the event loop: what they make the stand-in tell the
   * app is held (cork) until the turn's I/O is handled (setImmediate), then written in one
   * system call instead of one each.
   */
  send(...bodies: string[]): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(bodies.length === 1 ? encodeFrame(bodies[0]!) : Buffer.concat(bodies.map(encodeFrame)));
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let frames: string[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.log.warn({ reason: (err as Error).message }, 'closing app connection: bad frame');
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      if (this.socket.destroyed) return;
      try {
        this.onMessage(parseWireMessage(frame));
      } catch (err) {
        this.log.error({ err }, 'failed to handle app message');
      }
    }
  }

  private onMessage(message: WireMessage): void {
    // Never log the arguments of an authenticate message: they carry the secret.
    this.log.debug({ type: message.type, id: message.id }, 'app message');
    if (message.type === 'authenticate') return this.authenticate(message);
    if (!this.authenticated) {
      this.log.warn({ type: message.type }, 'closing app connection: message before authentication');
      this.socket.destroy();
      return;
    }
    switch (message.type) {
      case 'route':
        this.routes.add((message.args[0] ?? '').toLowerCase());
        return this.send(okResponse(message.id));
      case 'remove_route':
        this.routes.delete((message.args[0] ?? '').toLowerCase());
        return this.send(okResponse(message.id));
      case 'ping':
        return this.send(okResponse(message.id, 'pong'));
      case 'sip':
        return this.options.onSip(this, message);
      case 'proxy':
        return this.options.onProxy(this, message);
      default:
        this.send(nokResponse(message.id, 'Unknown message type'));
        this.socket.end();
    }
  }

  private authenticate(message: WireMessage): void {
    if (!secretMatches(message.args[0] ?? '', this.options.secret)) {
      this.log.warn('app failed to authenticate');
      this.send(noResponse(message.id, 'incorrect secret'));
      this.socket.end();
      return;
    }
    this.authenticated = true;
    this.send(okResponse(message.id, this.options.hostports, this.options.serverVersion, this.options.hostports));
  }
}

/** The connected apps, and drachtio-server's round-robin choice among those that routed a verb. */
export class AppLinks {
  private readonly links: AppLink[] = [];
  private turn = 0;

  add(link: AppLink): void {
    this.links.push(link);
  }

  remove(link: AppLink): void {
    const index = this.links.indexOf(link);
    if (index !== -1) this.links.splice(index, 1);
  }

  has(link: AppLink): boolean {
    return this.links.includes(link);
  }

  /** An authenticated app that routed `verb` (a method or cdr:* type), taking turns among several. */
  select(verb: string): AppLink | undefined {
    const candidates = this.links.filter((l) => l.isAuthenticated && l.routes.has(verb.toLowerCase()));
    if (candidates.length === 0) return undefined;
    return candidates[this.turn++ % candidates.length];
  }

  closeAll(): void {
    for (const link of [...this.links]) link.close();
    this.links.length = 0;
  }
}
