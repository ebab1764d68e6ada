/** A bare drachtio wire-protocol client, for tests that must send exactly the frames they choose. */
import { connect, type Socket } from 'node:net';
import { encodeFrame, FrameDecoder, parseWireMessage, type WireMessage } from '../../../src/drachtio-standin/wire-codec.js';
import type { HostPort } from './drachtio-target.js';

export class WireClient {
  readonly messages: WireMessage[] = [];
  ended = false;
  private readonly decoder = new FrameDecoder();
  private waiting: Array<() => void> = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const body of this.decoder.push(chunk)) this.messages.push(parseWireMessage(body));
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async open(address: HostPort): Promise<WireClient> {
    const socket = connect(address.port, address.host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new WireClient(socket);
  }

  /** Opens a connection and authenticates it. */
  static async authenticated(address: HostPort, secret: string): Promise<WireClient> {
    const client = await WireClient.open(address);
    client.send(`00000000-0000-4000-8000-0000000000aa|authenticate|${secret}|`);
    await client.until(() => client.messages.length === 1);
    return client;
  }

  send(body: string): void {
    this.socket.write(encodeFrame(body));
  }

  /** Resolves once `predicate` holds for what has been received. */
  async until(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error('wire client timed out');
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        setTimeout(resolve, 20);
      });
    }
  }

  /** The reply to the message with `id`. */
  async replyTo(id: string): Promise<WireMessage> {
    await this.until(() => this.messages.some((m) => m.type === 'response' && m.args[0] === id));
    return this.messages.find((m) => m.type === 'response' && m.args[0] === id)!;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
}
