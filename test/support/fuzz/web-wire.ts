/**
 * Sends generated signaling frames over a real WebSocket and generated REST requests over
 * HTTP to a running gateway, one at a time, and judges what comes back: each frame gets one
 * reply (an error naming what is wrong, never `internal`) or the socket closes with a code
 * for it; each request gets a status below 500 and, for a 4xx, a JSON error.
 */
import WebSocket from 'ws';
import { restAnswerProblem, type RestRequest } from './rest-requests.js';
import type { SignalingFrame } from './signaling-frames.js';
import type { WireOutcome } from './sip-wire.js';

const REPLY_TIMEOUT_MS = 5_000;
/** Frames per connection: a fresh one now and then, so what a frame set up (a join, transports) is let go. */
const FRAMES_PER_SOCKET = 25;
/** Close codes a frame may end the socket with: a leave, and ws's for a protocol breach (1002, 1007, 1009). */
const DEFINED_CLOSE_CODES = new Set([1000, 1002, 1007, 1009]);

interface Reply {
  readonly ok?: unknown;
  readonly v?: unknown;
  readonly error?: { readonly code?: unknown; readonly message?: unknown };
  readonly notification?: unknown;
}

export class SignalingWireFuzzer {
  private socket: WebSocket | undefined;
  private sent = 0;
  private next: ((event: { reply: Reply } | { closed: number }) => void) | undefined;

  constructor(private readonly url: string) {}

  async run(frame: SignalingFrame): Promise<WireOutcome> {
    const socket = await this.open();
    // From the frame's sending: (re)opening the socket, after a frame that closed it, is not part of the answer.
    const started = performance.now();
    const answer = new Promise<{ reply: Reply } | { closed: number } | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), REPLY_TIMEOUT_MS);
      this.next = (event) => {
        clearTimeout(timer);
        resolve(event);
      };
    });
    if (frame.kind === 'text') socket.send(frame.text);
    else socket.send(Buffer.from(frame.data), { binary: frame.kind === 'binary' });
    this.sent++;
    const event = await answer;
    this.next = undefined;
    return { problem: judgeSignaling(frame, event), ms: performance.now() - started };
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.close();
    await closed;
  }

  private async open(): Promise<WebSocket> {
    if (this.socket?.readyState === WebSocket.OPEN && this.sent < FRAMES_PER_SOCKET) return this.socket;
    await this.close();
    const socket = new WebSocket(this.url);
    socket.on('message', (raw) => {
      let reply: Reply;
      try {
        reply = JSON.parse(raw.toString()) as Reply;
      } catch {
        reply = { ok: 'not JSON' };
      }
      if (reply.notification !== undefined) return;
      this.next?.({ reply });
    });
    socket.on('close', (code) => this.next?.({ closed: code }));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    this.socket = socket;
    this.sent = 0;
    return socket;
  }
}

function judgeSignaling(frame: SignalingFrame, event: { reply: Reply } | { closed: number } | 'timeout'): string | undefined {
  const what = frame.kind === 'text' ? JSON.stringify(frame.text.slice(0, 120)) : `${frame.kind} frame of ${frame.data.length} bytes`;
  if (event === 'timeout') return `no reply and no close within ${REPLY_TIMEOUT_MS} ms to ${what}`;
  if ('closed' in event) return DEFINED_CLOSE_CODES.has(event.closed) || (event.closed >= 4400 && event.closed < 4500) ? undefined : `socket closed with ${event.closed} after ${what}`;
  const { reply } = event;
  if (reply.v !== 1 || typeof reply.ok !== 'boolean') return `a reply that is not the protocol's (${JSON.stringify(reply).slice(0, 120)}) to ${what}`;
  if (reply.ok) return undefined;
  if (typeof reply.error?.code !== 'string' || typeof reply.error.message !== 'string' || reply.error.message === '') return `an error reply without code and message to ${what}`;
  if (reply.error.code === 'internal') return `internal error (a bug of ours) answering ${what}`;
  return undefined;
}

/** Sends one generated request with fetch; a request fetch itself refuses to send is not a case. */
export async function runRestCase(baseUrl: string, request: RestRequest): Promise<WireOutcome | 'unsendable'> {
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${request.url}`, {
      method: request.method,
      headers: request.contentType === undefined ? {} : { 'content-type': request.contentType },
      ...(request.body === undefined ? {} : { body: typeof request.body === 'string' ? request.body : Buffer.from(request.body) }),
      redirect: 'manual',
    });
  } catch (err) {
    // fetch refuses some URLs and header values before anything is sent.
    if (err instanceof TypeError && !(err.cause instanceof Error && 'code' in err.cause)) return 'unsendable';
    return { problem: `${request.method} ${request.url.slice(0, 80)}: ${(err as Error).message} (${String((err as Error & { cause?: unknown }).cause)})`, ms: performance.now() - started };
  }
  const body = await response.text();
  const problem = restAnswerProblem(request.method, request.url, response.status, response.headers.get('content-type') ?? undefined, body);
  return { problem: problem && `${request.method} ${request.url.slice(0, 80)}: ${problem}`, ms: performance.now() - started };
}
