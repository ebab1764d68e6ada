/**
 * A real HTTP receiver for the gateway's webhooks (node:http on a loopback port), scripted
 * per request: answer with a status, drop the connection without an answer, or hold the
 * request and never answer. It records every request it got, whatever it did with it.
 */
import { type IncomingHttpHeaders, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '../../src/webhooks/webhook-signature.js';
import type { WebhookEnvelope } from '../../src/webhooks/webhook-events.js';

/** A status to answer with (and headers), 'drop' (close the connection unanswered) or 'hang' (never answer). */
export type ReceiverAnswer = number | { readonly status: number; readonly headers: Readonly<Record<string, string>> } | 'drop' | 'hang';

export interface ReceivedRequest {
  /** performance.now() when the request had been read. */
  readonly atMs: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly answer: ReceiverAnswer;
}

export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** The answers to the next requests, in order; once used up, `otherwise`. */
  answers: ReceiverAnswer[] = [];
  otherwise: ReceiverAnswer = 204;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** Listens on `port` (default: any free one) on 127.0.0.1. */
  static async start(port = 0): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | undefined;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => receiver?.answer(request.headers, Buffer.concat(chunks).toString('utf8'), response));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    receiver = new WebhookReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway-events`);
    return receiver;
  }

  /** The events it accepted (answered 2xx), in the order they came. */
  accepted(): WebhookEnvelope[] {
    return this.requests.filter(({ answer }) => isSuccess(answer)).map(({ body }) => JSON.parse(body) as WebhookEnvelope);
  }

  /** Every request for the event with this id, in order. */
  attemptsOf(eventId: string): ReceivedRequest[] {
    return this.requests.filter(({ body }) => (JSON.parse(body) as WebhookEnvelope).id === eventId);
  }

  /** Whether the request is signed with this secret, as a receiver checks it. */
  static signedWith(secret: string, request: ReceivedRequest): boolean {
    const header = request.headers['x-gateway-signature'];
    return verifySignature(secret, typeof header === 'string' ? header : undefined, request.body);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Held requests and kept-alive connections too.
    this.server.closeAllConnections();
    await closed;
  }

  private answer(headers: IncomingHttpHeaders, body: string, response: ServerResponse): void {
    const answer = this.answers.shift() ?? this.otherwise;
    this.requests.push({ atMs: performance.now(), headers, body, answer });
    if (answer === 'hang') return;
    if (answer === 'drop') {
      response.socket?.destroy();
      return;
    }
    if (typeof answer === 'number') response.writeHead(answer).end();
    else response.writeHead(answer.status, answer.headers).end();
  }
}

function isSuccess(answer: ReceiverAnswer): boolean {
  const status = typeof answer === 'number' ? answer : typeof answer === 'object' ? answer.status : 0;
  return status >= 200 && status < 300;
}
