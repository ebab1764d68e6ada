/**
 * A real drachtio-srf application that behaves like the app the reference recordings were
 * made with: meeting lookup (unknown → 404 "Meeting Not Found"), digest challenge (401,
 * wrong digest → 403), SDP sanity check (488), answer with SDP + X-Meeting-Id, 180 first
 * for "slow" meetings, INFO and re-INVITE handling, BYE on request. It records what it
 * saw so tests can assert on the app's side too.
 */
import Srf from 'drachtio-srf';
import { expectedResponse, parseDigest } from './digest.js';
import type { HostPort } from './drachtio-target.js';

/** The parts of drachtio-srf's request/response/dialog objects the app uses (its typings omit some). */
export interface SrfRequest {
  readonly method: string;
  readonly uri: string;
  readonly body: string;
  readonly stackTxnId: string;
  readonly stackDialogId: string;
  readonly canceled?: boolean;
  get(name: string): string | undefined;
  has(name: string): boolean;
  on(event: 'cancel', listener: () => void): void;
}
export interface SrfResponse {
  send(status: number, reasonOrOptions?: string | SendOptions, options?: SendOptions): void;
}
interface SendOptions {
  readonly headers?: Record<string, string>;
  readonly body?: string;
}
export interface SrfDialog {
  readonly id: string;
  readonly sip: { readonly callId: string; readonly localTag: string; readonly remoteTag: string };
  on(event: 'destroy', listener: (req: SrfRequest, reason?: string) => void): void;
  on(event: 'ack', listener: (req: SrfRequest) => void): void;
  on(event: 'info' | 'modify', listener: (req: SrfRequest, res: SrfResponse) => void): void;
  destroy(options?: { headers: Record<string, string> }): Promise<unknown>;
  modify(sdp: string): Promise<string>;
  request(options: { method: string; headers?: Record<string, string>; body?: string }): Promise<{ readonly status: number }>;
}
interface SrfApp {
  connect(options: { host: string; port: number; secret: string; reconnect?: { maxAttempts: number } }): void;
  disconnect(): void;
  on(event: string, listener: (...args: never[]) => void): void;
  options(handler: (req: SrfRequest, res: SrfResponse) => void): void;
  invite(handler: (req: SrfRequest, res: SrfResponse) => void): void;
  createUAS(req: SrfRequest, res: SrfResponse, options: { localSdp: string; headers?: Record<string, string> }): Promise<SrfDialog>;
}

export interface ScenarioAppOptions {
  /** The nonces successive 401 challenges carry (the recordings' own, so replayed Authorizations fit). */
  readonly nonces?: readonly string[];
  /** SDP answers: the first for the INVITE, the rest for successive re-INVITEs. */
  readonly answers?: readonly string[];
  /** Register cdr:* handlers (the app in recording 13 ran with CDR=1). */
  readonly cdr?: boolean;
}

export type AppEvent =
  | { readonly kind: 'request'; readonly method: string; readonly txnId: string; readonly dialogId: string; readonly at: number; readonly authorized: boolean }
  | { readonly kind: 'cancel'; readonly at: number }
  | { readonly kind: 'dialog'; readonly id: string; readonly at: number }
  | { readonly kind: 'ack'; readonly cseq: string; readonly at: number }
  | { readonly kind: 'info'; readonly body: string; readonly at: number }
  | { readonly kind: 'modify'; readonly direction: string; readonly at: number }
  | { readonly kind: 'destroy'; readonly source: string; readonly reason: string; readonly at: number }
  | { readonly kind: 'answer-failed'; readonly error: string; readonly at: number }
  | { readonly kind: 'cdr'; readonly type: string; readonly args: readonly string[]; readonly at: number };

const KNOWN_MEETINGS = new Set(['m123', 'm-slow', 'm-slow-naive', 'm-bye']);
const REALM = '127.0.0.1';
const PASSWORD = 's3cret';

const DEFAULT_ANSWER =
  'v=0\r\no=meetgw 1000 1000 IN IP4 127.0.0.1\r\ns=meetgw\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\n' +
  'a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n';

function meetingOf(uri: string): string {
  return /^sips?:([^@;]+)@/.exec(uri)?.[1] ?? '';
}

/** The first SDP line that is not `<type>=<value>`, if any. */
function sdpError(sdp: string): string | undefined {
  return sdp
    .split('\r\n')
    .filter((l) => l.length > 0)
    .some((l) => !/^[a-z]=/.test(l))
    ? 'line not of the form <type>=<value>'
    : undefined;
}

export class ScenarioApp {
  readonly events: AppEvent[] = [];
  readonly dialogs: SrfDialog[] = [];
  private readonly srf: SrfApp;
  private readonly held = new Map<string, () => void>();
  private answerIndex = 0;
  private challenges = 0;
  private readonly listeners = new Set<() => void>();

  private constructor(private readonly options: ScenarioAppOptions) {
    this.srf = new Srf() as unknown as SrfApp;
  }

  /** Connects to `address` (a drachtio server or a wire recorder in front of one) and waits for 'connect'. */
  static async connect(address: HostPort, secret: string, options: ScenarioAppOptions = {}): Promise<ScenarioApp> {
    const app = new ScenarioApp(options);
    app.install();
    await new Promise<void>((resolve, reject) => {
      app.srf.on('connect', ((err: Error | null) => (err ? reject(err) : resolve())) as never);
      app.srf.connect({ host: address.host, port: address.port, secret, reconnect: { maxAttempts: 1 } });
    });
    return app;
  }

  /** Lets a held "slow" INVITE to `meeting` be answered now (the recorded app's 3 s timer). */
  release(meeting: string): void {
    this.held.get(meeting)?.();
    this.held.delete(meeting);
  }

  /** Has the app BYE its newest dialog, with the recorded Reason. */
  async hangUp(): Promise<void> {
    const dialog = this.dialogs[this.dialogs.length - 1];
    if (!dialog) throw new Error('no dialog to hang up');
    await dialog.destroy({ headers: { Reason: 'SIP ;cause=200 ;text="Meeting ended"' } });
  }

  /** Resolves when the app has recorded an event matching `match`. */
  waitFor(match: (e: AppEvent) => boolean, timeoutMs = 3000): Promise<AppEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.find(match);
        if (!found) return false;
        this.listeners.delete(listener);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const listener = () => void check();
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`app event not seen within ${timeoutMs} ms; saw ${this.events.map((e) => e.kind).join(', ')}`));
      }, timeoutMs);
      if (!check()) this.listeners.add(listener);
    });
  }

  disconnect(): void {
    this.srf.disconnect();
  }

  private record(event: AppEvent): void {
    this.events.push(event);
    for (const listener of [...this.listeners]) listener();
  }

  private install(): void {
    this.srf.options((req, res) => {
      this.recordRequest(req);
      res.send(200, { headers: { allow: 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO', accept: 'application/sdp' } });
    });
    this.srf.invite((req, res) => this.onInvite(req, res));
    if (this.options.cdr) {
      for (const type of ['cdr:attempt', 'cdr:start', 'cdr:stop']) {
        this.srf.on(type, ((...args: unknown[]) => this.record({ kind: 'cdr', type, args: args.filter((a): a is string => typeof a === 'string'), at: performance.now() })) as never);
      }
    }
  }

  private recordRequest(req: SrfRequest): void {
    this.record({ kind: 'request', method: req.method, txnId: req.stackTxnId, dialogId: req.stackDialogId ?? '', at: performance.now(), authorized: req.has('Authorization') });
  }

  private onInvite(req: SrfRequest, res: SrfResponse): void {
    this.recordRequest(req);
    req.on('cancel', () => this.record({ kind: 'cancel', at: performance.now() }));
    const meeting = meetingOf(req.uri);
    if (!KNOWN_MEETINGS.has(meeting)) return res.send(404, 'Meeting Not Found');
    const authorization = req.get('Authorization');
    if (!authorization) {
      const nonces = this.options.nonces ?? ['179524629653100'];
      const nonce = nonces[Math.min(this.challenges++, nonces.length - 1)];
      return res.send(401, { headers: { 'www-authenticate': `Digest realm="${REALM}", algorithm=MD5, qop="auth", nonce="${nonce}"` } });
    }
    const p = parseDigest(authorization);
    const expected = expectedResponse('INVITE', PASSWORD, p);
    if (p.response !== expected) return res.send(403);
    const problem = sdpError(req.body);
    if (problem) return res.send(488, { headers: { warning: `399 meetgw "${problem}"` } });

    const answer = () => void this.answer(req, res, meeting);
    if (meeting === 'm-slow' || meeting === 'm-slow-naive') {
      res.send(180);
      this.held.set(meeting, () => {
        if (meeting === 'm-slow' && req.canceled) return;
        answer();
      });
      return;
    }
    answer();
  }

  private async answer(req: SrfRequest, res: SrfResponse, meeting: string): Promise<void> {
    try {
      const dialog = await this.srf.createUAS(req, res, { localSdp: this.nextAnswer(), headers: { 'X-Meeting-Id': meeting } });
      this.dialogs.push(dialog);
      this.record({ kind: 'dialog', id: dialog.id, at: performance.now() });
      dialog.on('ack', (ack) => this.record({ kind: 'ack', cseq: ack.get('CSeq') ?? '', at: performance.now() }));
      dialog.on('info', (info, infoRes) => {
        this.record({ kind: 'info', body: info.body, at: performance.now() });
        infoRes.send(200);
      });
      dialog.on('modify', (reinvite, modifyRes) => {
        const direction = /a=(sendonly|recvonly|sendrecv|inactive)/.exec(reinvite.body)?.[1] ?? '';
        this.record({ kind: 'modify', direction, at: performance.now() });
        modifyRes.send(200, { body: this.nextAnswer(), headers: { 'content-type': 'application/sdp' } });
      });
      dialog.on('destroy', (bye, reason) =>
        this.record({ kind: 'destroy', source: (bye as unknown as { source: string }).source, reason: reason ?? 'normal release', at: performance.now() }),
      );
    } catch (err) {
      this.record({ kind: 'answer-failed', error: err instanceof Error ? err.message : String(err), at: performance.now() });
    }
  }

  private nextAnswer(): string {
    const answers = this.options.answers ?? [DEFAULT_ANSWER];
    return answers[Math.min(this.answerIndex++, answers.length - 1)]!;
  }
}
