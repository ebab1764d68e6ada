/**
 * A client of baresip's ctrl_tcp module: netstring-framed JSON commands with tokens, and
 * the events baresip pushes on the same connection. baresip sends events only to a
 * connected client, so the phone connects before it does anything that fires one.
 */
import { createConnection, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeNetstring, NetstringDecoder } from './netstring.js';

/** The event types a test usually waits for; baresip has more (any string is accepted). */
export type BaresipEventType =
  | 'CALL_INCOMING'
  | 'CALL_RINGING'
  | 'CALL_PROGRESS'
  | 'CALL_ESTABLISHED'
  | 'CALL_CLOSED'
  | 'CALL_LOCAL_SDP'
  | 'CALL_REMOTE_SDP'
  | 'CALL_RTPESTAB'
  | 'CALL_RTCP'
  | 'CALL_DTMF_START'
  | 'CALL_DTMF_END'
  | (string & {});

export interface BaresipEvent {
  readonly type: BaresipEventType;
  /** Call id (baresip's, not the SIP Call-ID). */
  readonly id?: string;
  readonly direction?: string;
  readonly peerUri?: string;
  /**
   * What the event is about: CALL_CLOSED has the reason ("403 Forbidden", "Connection
   * reset by user" after our own hangup), CALL_PROGRESS/RINGING/ESTABLISHED the peer URI.
   */
  readonly param?: string;
  /** performance.now() at arrival. */
  readonly at: number;
}

interface Pending {
  resolve: (data: string) => void;
  reject: (error: Error) => void;
}

export class BaresipControl {
  private readonly decoder = new NetstringDecoder();
  private readonly pending = new Map<string, Pending>();
  private nextToken = 1;

  private constructor(
    private readonly socket: Socket,
    private readonly onEvent: (event: BaresipEvent) => void,
  ) {
    socket.on('data', (chunk: Buffer) => {
      for (const payload of this.decoder.push(chunk)) this.receive(payload);
    });
    socket.on('close', () => this.failPending(new Error('baresip control connection closed')));
    socket.on('error', () => undefined); // 'close' follows and fails what is pending
  }

  /** Retries until the socket accepts: baresip opens it only once its modules are loaded. */
  static async connect(
    port: number,
    { timeoutMs, stillRunning, onEvent }: { timeoutMs: number; stillRunning: () => boolean; onEvent: (event: BaresipEvent) => void },
  ): Promise<BaresipControl> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      try {
        return new BaresipControl(await openSocket(port), onEvent);
      } catch (error) {
        if (!stillRunning()) throw new Error('baresip exited before its control socket opened', { cause: error });
        if (performance.now() > deadline) throw new Error(`baresip control socket 127.0.0.1:${port} did not open within ${timeoutMs} ms`, { cause: error });
        await sleep(15);
      }
    }
  }

  /** Runs a menu command (as typed after "/" in baresip's console) and returns its text output. */
  command(command: string, params = '', timeoutMs = 5_000): Promise<string> {
    const token = String(this.nextToken++);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new Error(`baresip command "${command} ${params}" got no response within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = <T>(fn: (value: T) => void) => (value: T) => {
        clearTimeout(timer);
        this.pending.delete(token);
        fn(value);
      };
      this.pending.set(token, { resolve: settle(resolve), reject: settle(reject) });
      this.socket.write(encodeNetstring(JSON.stringify({ command, params, token })));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(payload: string): void {
    const message: unknown = JSON.parse(payload);
    if (!isRecord(message)) return;
    if (message.event === true && typeof message.type === 'string') {
      this.onEvent({
        type: message.type,
        id: optionalString(message.id),
        direction: optionalString(message.direction),
        peerUri: optionalString(message.peeruri),
        param: optionalString(message.param),
        at: performance.now(),
      });
    } else if (message.response === true && typeof message.token === 'string') {
      const pending = this.pending.get(message.token);
      const data = optionalString(message.data) ?? '';
      if (message.ok === true) pending?.resolve(data);
      else pending?.reject(new Error(`baresip command failed: ${data || 'no reason given'}`));
    }
  }

  private failPending(error: Error): void {
    for (const { reject } of [...this.pending.values()]) reject(error);
  }
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
