/** A real WebSocket client speaking the signaling protocol, for tests without a browser. */
import WebSocket from 'ws';
import type { MethodName, Methods, NotificationName, Notifications } from '../../src/signaling/protocol.js';

export interface Reply {
  v: number;
  id: number | null;
  ok: boolean;
  data?: any;
  error?: { code: string; message: string };
}

export class SignalingTestClient {
  readonly replies: Reply[] = [];
  readonly notifications: Array<{ notification: NotificationName; data: any }> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private nextId = 1;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (raw) => {
      const message = JSON.parse(raw.toString());
      if ('notification' in message) this.notifications.push(message);
      else this.replies.push(message);
      for (const wake of this.waiters) wake();
    });
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async connect(url: string): Promise<SignalingTestClient> {
    const socket = new WebSocket(url);
    const client = new SignalingTestClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  sendRaw(data: string | Buffer): void {
    this.socket.send(data);
  }

  /** Sends a request and resolves with its reply (ok or not). */
  async call<M extends MethodName>(method: M, data: Methods[M]['request'] | Record<string, unknown>): Promise<Reply> {
    const id = this.nextId++;
    this.socket.send(JSON.stringify({ v: 1, id, method, data }));
    return this.until(() => this.replies.find((r) => r.id === id));
  }

  /** Sends a request and resolves with its data; throws with the error message if refused. */
  async request<M extends MethodName>(method: M, data: Methods[M]['request']): Promise<Methods[M]['response']> {
    const reply = await this.call(method, data);
    if (!reply.ok) throw new Error(`${method} refused: ${reply.error?.code}: ${reply.error?.message}`);
    return reply.data;
  }

  async notification<N extends NotificationName>(name: N, match: (data: Notifications[N]) => boolean = () => true): Promise<Notifications[N]> {
    const found = await this.until(() => this.notifications.find((n) => n.notification === name && match(n.data)));
    return found.data;
  }

  async until<T>(find: () => T | undefined, timeoutMs = 5000): Promise<T> {
    const immediate = find();
    if (immediate !== undefined) return immediate;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error('timed out waiting for a signaling message'));
      }, timeoutMs);
      const check = () => {
        const value = find();
        if (value === undefined) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(value);
      };
      this.waiters.add(check);
    });
  }

  close(): void {
    this.socket.close();
  }
}
