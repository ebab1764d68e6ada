/**
 * The parts of drachtio-srf the gateway uses, typed. drachtio-srf's own typings are loose
 * (`any`, `Function`) and miss members we rely on, so the rest of src/sip sees only these.
 */
import SrfModule from 'drachtio-srf';
import { GatewayError } from '../errors.js';

export interface SipRequest {
  readonly method: string;
  readonly uri: string;
  readonly body: string;
  readonly callId: string;
  readonly source_address: string;
  readonly protocol: string;
  /** `network`: from the caller; `application`: made by drachtio-server itself (its ACK-timeout BYE). */
  readonly meta: { readonly source: 'network' | 'application' };
  get(name: string): string | undefined;
  has(name: string): boolean;
  getParsedHeader(name: 'from' | 'to'): { name?: string; uri: string; params?: Record<string, string> };
  once(event: 'cancel', listener: () => void): void;
}

export interface SendOptions {
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export interface SipResponse {
  readonly finalResponseSent: boolean;
  send(status: number, reason?: string, options?: SendOptions): void;
}

export interface SipDialog {
  readonly id: string;
  readonly sip: { readonly callId: string };
  on(event: 'destroy', listener: (request: SipRequest, reason?: string) => void): void;
  on(event: 'modify' | 'info' | 'update', listener: (request: SipRequest, response: SipResponse) => void): void;
  on(event: 'ack', listener: (request: SipRequest) => void): void;
  once(event: 'ack', listener: (request: SipRequest) => void): void;
  once(event: 'destroy', listener: () => void): void;
  destroy(options?: { headers: Record<string, string> }): Promise<unknown>;
  /** A request in the dialog; resolves with the final response (a 2xx to an INVITE is ACKed by drachtio-srf). */
  request(options: { method: 'UPDATE' | 'INVITE' | 'OPTIONS'; headers?: Record<string, string>; body?: string }): Promise<SipFinalResponse>;
}

/** A response the far end sent to our in-dialog request. */
export interface SipFinalResponse {
  readonly status: number;
  get(name: string): string | undefined;
}

export interface UasOptions {
  /** Our SDP: the answer, or (late offer) our offer, answered in the ACK. */
  readonly localSdp: string;
  readonly headers?: Record<string, string>;
}

/** The drachtio-srf application object, as far as the gateway drives it. */
export interface SrfApp {
  connect(options: {
    host: string;
    port: number;
    secret: string;
    reconnect?: { retryMaxDelay?: number };
  }): void;
  disconnect(): void;
  on(event: 'connect', listener: (err: Error | null, hostport: string) => void): void;
  on(event: 'error' | 'close' | 'reconnecting', listener: (arg: unknown) => void): void;
  /** Middleware for every request no dialog took (drachtio-srf's own dialog routing runs first), before the method handlers registered after it. */
  use(middleware: (request: SipRequest, response: SipResponse, next: () => void) => void): void;
  invite(handler: (request: SipRequest, response: SipResponse) => void): void;
  createUAS(request: SipRequest, response: SipResponse, options: UasOptions, callback: (err: Error | null, dialog?: SipDialog) => void): unknown;
  /** Sends a request outside a dialog; `auth` answers a 401/407 (drachtio-srf's digest client). */
  request(uri: string, options: RequestOptions, callback: (err: Error | null, request: SentRequest) => void): void;
  /**
   * Proxies the request (drachtio-server's stateful proxy) to the destination; resolves once
   * its final response has been forwarded, rejects when drachtio-server could not proxy it.
   */
  proxyRequest(request: SipRequest, destination: string, options: ProxyOptions): Promise<ProxyResults>;
  /** Sends an INVITE; resolves with the dialog a 2xx made (ACKed), rejects with a SipError (`status`) for a failure. */
  createUAC(uri: string, options: UacOptions, progress: UacProgress): Promise<SipDialog & { readonly remote: { readonly sdp: string } }>;
}

export interface ProxyOptions {
  /** true: drachtio-server record-routes and relays the dialog's requests (its app is not told); false: the ends talk directly after the INVITE. */
  readonly recordRoute: boolean;
  /** Added to the proxied request. */
  readonly headers?: Record<string, string>;
}

export interface ProxyResults {
  /** The final status the destination answered with (absent when none came). */
  readonly finalStatus?: number;
}

export interface RequestOptions {
  readonly method: 'REGISTER' | 'OPTIONS';
  readonly headers?: Record<string, string>;
  readonly auth?: { readonly username: string; readonly password: string };
}

/** A request we sent: each response to it (provisional and final) is emitted. */
export interface SentRequest {
  on(event: 'response', listener: (response: SipFinalResponse & { readonly reason: string }) => void): void;
}

export interface UacOptions {
  readonly localSdp: string;
  readonly headers?: Record<string, string>;
  /** Answers a 401/407 challenge with these (drachtio-srf's digest client). */
  readonly auth?: { readonly username: string; readonly password: string };
}

/** The INVITE as sent (it can be cancelled), and each provisional response to it. */
export interface UacProgress {
  readonly cbRequest: (err: Error | null, request: { cancel(callback: (err: Error | null) => void): void }) => void;
  readonly cbProvisional: (response: { readonly status: number; readonly reason: string }) => void;
}

/**
 * Sends the 200 OK to an INVITE and hands over its dialog the moment drachtio-srf creates
 * it. drachtio-server sends the 200 to the caller before it tells the app it did, so the
 * caller's ACK, re-INVITE, INFO or BYE can arrive in the same read as that news and be
 * dispatched before code after an awaited createUAS() runs (drachtio-srf then answers a
 * re-INVITE by itself, with the old SDP, and a BYE ends a dialog nobody listens to).
 * `onDialog` runs before any of them; the promise resolves after it.
 *
 * If the connection to drachtio-server is lost before that news comes, it never will
 * (drachtio-srf drops what it waited for on a lost connection): the promise rejects then,
 * so the call does not wait forever holding its media.
 */
export function answerInvite(
  srf: SrfApp,
  request: SipRequest,
  response: SipResponse,
  options: UasOptions,
  onDialog: (dialog: SipDialog) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const waiting = answersAwaitingNews(srf);
    const connectionLost = () => reject(new GatewayError('unavailable', 'lost drachtio-server before it confirmed our 200 OK'));
    waiting.add(connectionLost);
    srf.createUAS(request, response, { ...options }, (err, dialog) => {
      waiting.delete(connectionLost);
      if (err || !dialog) return reject(err ?? new Error('createUAS gave no dialog'));
      // Thrown inside drachtio-srf's message handler, an error would take the connection down.
      try {
        onDialog(dialog);
      } catch (handlerErr) {
        return reject(handlerErr);
      }
      resolve();
    });
  });
}

/** Per drachtio-srf app, the answers whose news has not come yet: one 'close' listener for all of them. */
const awaitingNews = new WeakMap<SrfApp, Set<() => void>>();

function answersAwaitingNews(srf: SrfApp): Set<() => void> {
  let waiting = awaitingNews.get(srf);
  if (!waiting) {
    const answers = new Set<() => void>();
    srf.on('close', () => {
      for (const lost of answers) lost();
      answers.clear();
    });
    awaitingNews.set(srf, answers);
    waiting = answers;
  }
  return waiting;
}

export function newSrf(): SrfApp {
  const Srf = SrfModule as unknown as new () => SrfApp;
  return new Srf();
}

/** SIP methods the gateway answers itself instead of leaving them to the server. */
export type RoutedMethod = 'register' | 'subscribe' | 'message' | 'publish' | 'notify' | 'refer' | 'update' | 'prack' | 'info' | 'options';

/** drachtio-srf routes a method by a method named after it (srf.register(...)). */
export function route(srf: SrfApp, method: RoutedMethod, handler: (request: SipRequest, response: SipResponse) => void): void {
  (srf as unknown as Record<RoutedMethod, (h: typeof handler) => void>)[method](handler);
}

/**
 * Stops drachtio-srf from connecting. Its disconnect() only works on an established
 * connection and its retry timer is private, so while still (re)connecting the wire
 * protocol object is told it is closing and its pending attempt is cancelled directly.
 */
export function stopConnecting(srf: SrfApp): void {
  const wire = wireOf(srf);
  if (!wire) return;
  wire.closing = true;
  if (wire.reconnectVars?.retryTimer) clearTimeout(wire.reconnectVars.retryTimer);
  wire.socket?.destroy();
}

interface WireInternals {
  closing: boolean;
  reconnectVars?: { retryTimer?: NodeJS.Timeout | null };
  socket?: { destroy(): void; destroyed: boolean };
}

/** The wire protocol object: srf.app is drachtio-srf's connect app, its client the agent owning the wire. */
function wireOf(srf: SrfApp): WireInternals | undefined {
  return (srf as unknown as SrfInternals).app?.client?.wp;
}

/** drachtio-srf's registry of its dialogs, and the connection each talks through (its request's). */
interface SrfInternals {
  app?: { client?: { wp?: WireInternals } };
  _dialogs?: Map<string, DialogInternals>;
  removeDialog(dialog: DialogInternals): void;
}

interface DialogInternals extends SipDialog {
  req: { socket: unknown };
}

/**
 * The dialogs drachtio-srf still holds from before its connection to drachtio-server was
 * lost. drachtio-srf keeps them, but each still talks through the connection that made
 * it, now destroyed, so nothing could be sent in them: they are moved to the current one.
 */
export function dialogsFromBefore(srf: SrfApp): SipDialog[] {
  const internals = srf as unknown as SrfInternals;
  const socket = wireOf(srf)?.socket;
  if (!socket || socket.destroyed) return [];
  const stale = [...(internals._dialogs?.values() ?? [])].filter((dialog) => dialog.req.socket !== socket);
  for (const dialog of stale) dialog.req.socket = socket;
  return stale;
}

/**
 * Asks through drachtio-server whether a dialog is still there: an in-dialog OPTIONS. The
 * dialog is gone when drachtio-server no longer knows it (it refuses the request; it was
 * restarted) or the caller does not (481, or no answer: 408).
 */
export async function dialogAlive(dialog: SipDialog): Promise<{ alive: true } | { alive: false; reason: string }> {
  try {
    const { status } = await dialog.request({ method: 'OPTIONS' });
    return status === 481 || status === 408 ? { alive: false, reason: `the caller answered ${status} in the dialog` } : { alive: true };
  } catch (err) {
    return { alive: false, reason: `drachtio-server no longer has the dialog (${err instanceof Error ? err.message : String(err)})` };
  }
}

/** Drops a dialog that is gone from drachtio-srf's registry. */
export function forgetDialog(srf: SrfApp, dialog: SipDialog): void {
  (srf as unknown as SrfInternals).removeDialog(dialog as unknown as DialogInternals);
}

/**
 * A header that must appear as separate lines (WWW-Authenticate, RFC 3261 §7.3.1: its
 * values may not be joined with commas). drachtio-srf keeps one string per header name
 * and writes it as one line, so the later values ride in it as further header lines.
 */
export function repeatedHeader(name: string, values: readonly string[]): Record<string, string> {
  if (values.some((value) => /[\r\n]/.test(value))) throw new RangeError(`a ${name} value contains a line break`);
  return { [name]: values.join(`\r\n${name}: `) };
}
