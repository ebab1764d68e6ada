/**
 * The page's end of the meeting signaling socket (src/signaling/protocol.ts): numbered
 * requests matched to their responses, typed notifications, and one close event that
 * carries the server's close code.
 */
import {
  CloseCode,
  PROTOCOL_VERSION,
  type ErrorBody,
  type MethodName,
  type Methods,
  type Notification,
  type NotificationName,
  type Notifications,
  type Request,
  type Response,
} from '../signaling/protocol.js';

const REQUEST_TIMEOUT_MS = 10_000;

/** The server answered a request with ok: false. */
export class SignalingError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SignalingError';
  }
}

/** A request that can no longer be answered because the socket closed. */
export class SocketClosedError extends Error {
  constructor(readonly closeCode: number) {
    super(`signaling socket closed (${closeCode})`);
    this.name = 'SocketClosedError';
  }
}

type NotificationHandler<N extends NotificationName> = (data: Notifications[N]) => void;
type NotificationHandlers = { [N in NotificationName]?: Array<NotificationHandler<N>> };

interface PendingRequest {
  resolve(data: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class SignalingClient {
  private nextId = 1;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly handlers: NotificationHandlers = {};
  private closeHandler: ((code: number) => void) | undefined;

  /** Resolves once the socket is open; rejects if it closes first (the server refused it). */
  static connect(url: string): Promise<SignalingClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      const refused = (event: CloseEvent) => reject(new SocketClosedError(event.code));
      socket.addEventListener('close', refused, { once: true });
      socket.addEventListener(
        'open',
        () => {
          socket.removeEventListener('close', refused);
          resolve(new SignalingClient(socket));
        },
        { once: true },
      );
    });
  }

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', (event) => this.receive(event.data));
    socket.addEventListener('close', (event) => this.closed(event.code), { once: true });
  }

  request<M extends MethodName>(method: M, data: Methods[M]['request']): Promise<Methods[M]['response']> {
    if (this.socket.readyState !== WebSocket.OPEN) return Promise.reject(new SocketClosedError(CloseCode.normal));
    const id = this.nextId++;
    const request: Request<M> = { v: PROTOCOL_VERSION, id, method, data };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method} got no answer within ${REQUEST_TIMEOUT_MS / 1000} s`));
      }, REQUEST_TIMEOUT_MS);
      // The response's data type follows from the method, which the id ties it to.
      this.pending.set(id, { resolve: resolve as (data: unknown) => void, reject, timer });
      this.socket.send(JSON.stringify(request));
    });
  }

  on<N extends NotificationName>(name: N, handler: NotificationHandler<N>): void {
    const list: Array<NotificationHandler<N>> = this.handlers[name] ?? [];
    list.push(handler);
    (this.handlers as { [K in N]?: Array<NotificationHandler<K>> })[name] = list;
  }

  /** Called once, however the socket closed (server close code, network loss or close()). */
  onClose(handler: (code: number) => void): void {
    this.closeHandler = handler;
  }

  close(): void {
    this.socket.close(CloseCode.normal);
  }

  private receive(raw: unknown): void {
    let message: Response | Notification;
    try {
      message = JSON.parse(String(raw)) as Response | Notification;
    } catch {
      console.warn('signaling: ignoring a frame that is not JSON');
      return;
    }
    if (message.v !== PROTOCOL_VERSION) {
      console.warn(`signaling: ignoring a frame of protocol version ${String(message.v)}`);
      return;
    }
    if ('notification' in message) this.dispatch(message);
    else this.settle(message);
  }

  private dispatch<N extends NotificationName>(message: Notification<N>): void {
    const list: Array<NotificationHandler<N>> | undefined = this.handlers[message.notification];
    for (const handler of list ?? []) handler(message.data);
  }

  private settle(response: Response): void {
    const id = response.id;
    const request = id === null ? undefined : this.pending.get(id);
    if (id === null || !request) {
      if (!response.ok) reportUnmatchedError(response.error);
      return;
    }
    this.pending.delete(id);
    clearTimeout(request.timer);
    if (response.ok) request.resolve(response.data);
    else request.reject(new SignalingError(response.error.code, response.error.message));
  }

  private closed(code: number): void {
    for (const request of this.pending.values()) {
      clearTimeout(request.timer);
      request.reject(new SocketClosedError(code));
    }
    this.pending.clear();
    this.closeHandler?.(code);
  }
}

function reportUnmatchedError(error: ErrorBody): void {
  console.warn(`signaling: server error not tied to a request: ${error.code}: ${error.message}`);
}
