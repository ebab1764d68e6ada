/**
 * drachtio's `proxy` command: the app hands an INVITE it received to the stack, which
 * forwards it statefully (RFC 3261 §16) to the destinations the app names, one after the
 * other, as drachtio-server's SipProxyController does (serial forking only):
 * - the request keeps its Request-URI unless that names this server itself (then it becomes
 *   the destination, as drachtio-server does), gets our Via on top, Max-Forwards one less (70 when absent), a
 *   Record-Route when the app asked to stay in the dialog, and the app's headers;
 * - a 100 Trying from the destination is absorbed; other provisionals reach the caller at
 *   once; a 2xx reaches the caller at once and ends the proxying (no retransmission of it
 *   from here: the callee's reach the caller through us while they come, and the ACK goes
 *   from the caller to the callee's Contact); a failure is ACKed here and the next
 *   destination tried; when none is left, the best failure (RFC 3261 §16.7.6, as
 *   drachtio-server ranks them) or, with no answer at all, a 408 of our own reaches the caller;
 *   a 401 or 407 with a challenge goes back at once;
 * - the caller's CANCEL is answered 200 and 487 by the stack (uas-core.ts) and cancels the
 *   destination being tried; the app hears nothing of it;
 * - the app gets `response|<its message id>|OK|network|<bytes>|<transport>|<address>|<port>|<time>|||continue`
 *   with each final response the destinations sent, then `response|<id>|OK|done` once the
 *   outcome is sent to the caller.
 * A proxy that record-routed stays in the dialog statelessly, as drachtio-server's
 * processRequestWithRouteHeader: a request with a To tag, matching no dialog of ours, whose
 * first Route is a loose-routing URI of this server's host, loses that Route, gets a Via of
 * ours (branch `z9hG4bK.`, Max-Forwards as received) and goes to the next Route or the
 * Request-URI; a response whose top Via is such a Via of ours loses it and goes to the next.
 * The app hears nothing of either.
 * Not done: simultaneous forking, provisional and final timeouts, following redirects,
 * PRACK through a Record-Route, the cdr:stop of a relayed BYE.
 */
import type { AppLink } from './app-link.js';
import type { CoreContext } from './core-context.js';
import { newBranch, newUuid, wireTime } from './ids.js';
import { checkRequest } from './request-validation.js';
import { headerKey, parseNameAddr, splitOutside, uriHost, viaParam, type Via } from './sip-headers.js';
import { callIdOf, cseqOf, tagIn, topViaOf, uriHostPort, viasOf } from './sip-fields.js';
import { buildRequest, parseSipMessage, serializeMessage, type ParsedSip, type SipHeader, type SipRequest, type SipResponse } from './sip-message.js';
import { isStream, type Peer } from './sip-transport.js';
import { InviteClientTransaction } from './transactions.js';
import { formatWireMessage } from './wire-codec.js';
import { nokResponse, okResponse } from './wire-messages.js';

/** The caller's INVITE, taken from the server side for proxying. */
export interface ProxiedInvite {
  readonly request: SipRequest;
  /** Sends a response (the destination's, or the stack's own) to the caller on the INVITE's server transaction. */
  respond(status: number, data: Buffer): void;
  /** A 2xx: sent once, not retransmitted from here. */
  relay2xx(status: number, data: Buffer): void;
  /** The stack's own response (408) to the caller. */
  stackResponse(status: number, reason: string): Buffer;
  /** Called when the caller CANCELs (the stack has answered it already). */
  onCancel(listener: () => void): void;
}

export interface ProxyCommand {
  readonly recordRoute: boolean;
  readonly destinations: readonly string[];
  /** The headers the app adds (from the SIP message after the command line). */
  readonly headers: readonly SipHeader[];
}

/** Headers drachtio-server never takes from the app. */
const NEVER_FROM_APP = new Set(['via', 'record-route', 'content-length', 'call-id', 'cseq', 'from', 'to']);

interface Attempt {
  readonly branch: string;
  readonly destination: Peer;
  readonly txn: InviteClientTransaction;
  final: { readonly status: number; readonly data: Buffer } | undefined;
}

class ProxySession {
  private attempts: Attempt[] = [];
  private next = 0;
  private finished = false;
  private cancelled = false;
  /** The response being handed to the transaction hooks. */
  private current: { readonly response: SipResponse; readonly data: Buffer; readonly from: Peer; readonly size: number } | undefined;

  constructor(
    private readonly ctx: CoreContext,
    private readonly core: ProxyCore,
    private readonly invite: ProxiedInvite,
    private readonly command: ProxyCommand,
    private readonly link: AppLink,
    private readonly messageId: string,
  ) {
    invite.onCancel(() => this.cancel());
  }

  /** false when not even the first destination could be tried. */
  start(): boolean {
    return this.tryNext();
  }

  onResponse(attempt: Attempt, response: SipResponse, from: Peer, size: number): void {
    const data = withoutTopVia(response);
    this.current = { response, data, from, size };
    attempt.txn.onResponse(response.status, () => this.ackFor(attempt, response));
    this.current = undefined;
  }

  private tryNext(): boolean {
    while (this.next < this.command.destinations.length) {
      const destination = peerOf(this.command.destinations[this.next++]!);
      if (!destination) continue;
      this.send(destination);
      return true;
    }
    return false;
  }

  private send(destination: Peer): void {
    const branch = newBranch();
    const request = this.forwarded(branch, destination);
    const data = serializeMessage(request);
    const attempt: Attempt = {
      branch,
      destination,
      final: undefined,
      txn: new InviteClientTransaction({ timers: this.ctx.timers, reliable: isStream(destination.transport), send: (d) => this.ctx.transport.send(destination, d) }, data, {
        onResponse: (status, retransmission) => this.onAttemptResponse(attempt, status, retransmission),
        onTimeout: () => this.onAttemptTimeout(),
        onTerminated: () => this.core.forget(branch),
      }),
    };
    this.attempts.push(attempt);
    this.core.track(branch, attempt, this);
    attempt.txn.start();
  }

  /** The caller's INVITE as forwarded to `destination` (RFC 3261 §16.6). */
  private forwarded(branch: string, destination: Peer): SipRequest {
    const { request } = this.invite;
    const host = uriHost(this.ctx.local.host);
    const sentBy = this.ctx.local.port === 5060 ? host : `${host}:${this.ctx.local.port}`;
    const ours: SipHeader = { name: 'Via', value: `SIP/2.0/${destination.transport.toUpperCase()} ${sentBy};rport;branch=${branch}` };
    const headers: SipHeader[] = [ours];
    let maxForwards = false;
    for (const header of request.headers) {
      const key = headerKey(header.name);
      if (key === 'content-length') continue;
      if (key === 'max-forwards') {
        maxForwards = true;
        headers.push({ name: header.name, value: String(Math.max(0, Number(header.value) - 1)) });
        continue;
      }
      headers.push(header);
    }
    if (!maxForwards) headers.push({ name: 'Max-Forwards', value: '70' });
    // drachtio-server puts its Record-Route right after the Vias.
    if (this.command.recordRoute) headers.splice(headers.findIndex((h) => headerKey(h.name) !== 'via'), 0, { name: 'Record-Route', value: `<sip:${host}:${this.ctx.local.port};lr>` });
    headers.push(...this.command.headers.filter((h) => !NEVER_FROM_APP.has(headerKey(h.name))));
    headers.push({ name: 'Content-Length', value: String(request.body.length) });
    // Verbatim otherwise: the received headers keep their spelling, as sofia forwards them.
    // A Request-URI naming this server itself gives way to the destination (drachtio-server, checked).
    const uri = this.isLocal(request.uri) ? this.destinationUri : request.uri;
    const { requestLine: _asReceived, ...rest } = request;
    return uri === request.uri ? { ...request, headers } : { ...rest, uri, headers };
  }

  /** The destination being tried, as the app named it. */
  private get destinationUri(): string {
    const named = this.command.destinations[this.next - 1]!;
    return /^sips?:/i.test(named) ? named : `sip:${named}`;
  }

  /** A sip: URI of this server's own SIP address (host and port, 5060 when absent). */
  private isLocal(uri: string): boolean {
    const target = uriHostPort(uri);
    if (!target) return false;
    const host = target.host.replace(/^\[|\]$/g, '');
    return (host === this.ctx.local.host || host === this.ctx.transport.host) && (target.port ?? 5060) === this.ctx.local.port;
  }

  private onAttemptResponse(attempt: Attempt, status: number, retransmission: boolean): void {
    const current = this.current;
    if (!current || retransmission || this.finished) return;
    if (status === 100) return;
    if (status < 200) return this.invite.respond(status, current.data);
    this.tellApp(current);
    if (status < 300) {
      this.invite.relay2xx(status, current.data);
      return this.finish();
    }
    attempt.final = { status, data: current.data };
    const challenged = (status === 401 || status === 407) && current.response.headers.some((h) => ['www-authenticate', 'proxy-authenticate'].includes(headerKey(h.name)));
    if (!challenged && !this.cancelled && this.tryNext()) return;
    this.forwardBest();
  }

  private onAttemptTimeout(): void {
    if (this.finished) return;
    if (!this.cancelled && this.tryNext()) return;
    this.forwardBest();
  }

  private cancel(): void {
    this.cancelled = true;
    for (const attempt of this.attempts) {
      if (attempt.txn.state === 'proceeding') this.ctx.transport.send(attempt.destination, this.cancelFor(attempt));
      attempt.txn.giveUpAfterCancel();
    }
    // The caller has its 487 from the stack already.
    this.finished = true;
    this.link.send(okResponse(this.messageId, 'done'));
  }

  /** The best failure to the caller (RFC 3261 §16.7.6), or a 408 when no destination answered. */
  private forwardBest(): void {
    const finals = this.attempts.flatMap((attempt) => (attempt.final ? [attempt.final] : []));
    const best = finals.sort((a, b) => rank(a.status) - rank(b.status))[0];
    if (best) this.invite.respond(best.status, best.data);
    else this.invite.respond(408, this.invite.stackResponse(408, 'Request Timeout'));
    this.finish();
  }

  private finish(): void {
    this.finished = true;
    this.link.send(okResponse(this.messageId, 'done'));
  }

  private tellApp(current: { readonly data: Buffer; readonly from: Peer; readonly size: number }): void {
    const { from, size, data } = current;
    this.link.send(
      formatWireMessage(
        [newUuid(), 'response', this.messageId, 'OK', 'network', String(size), from.transport, from.address, String(from.port), wireTime(), '', '', 'continue'],
        data.toString('utf8'),
      ),
    );
  }

  /** The ACK for a failure, hop by hop (RFC 3261 §17.1.1.3): our branch, the response's To. */
  private ackFor(attempt: Attempt, response: SipResponse): Buffer {
    return this.hopRequest(attempt, 'ACK', response.headers.find((h) => headerKey(h.name) === 'to')?.value);
  }

  private cancelFor(attempt: Attempt): Buffer {
    return this.hopRequest(attempt, 'CANCEL', undefined);
  }

  private hopRequest(attempt: Attempt, method: 'ACK' | 'CANCEL', to: string | undefined): Buffer {
    const { request } = this.invite;
    const host = uriHost(this.ctx.local.host);
    const sentBy = this.ctx.local.port === 5060 ? host : `${host}:${this.ctx.local.port}`;
    const copied = request.headers.filter((h) => ['from', 'call-id', ...(to ? [] : ['to'])].includes(headerKey(h.name)));
    const headers: SipHeader[] = [
      { name: 'Via', value: `SIP/2.0/${attempt.destination.transport.toUpperCase()} ${sentBy};rport;branch=${attempt.branch}` },
      { name: 'Max-Forwards', value: '70' },
      ...copied,
      ...(to ? [{ name: 'To', value: to }] : []),
      { name: 'CSeq', value: `${cseqOf(request)!.seq} ${method}` },
    ];
    return serializeMessage(buildRequest(method, request.uri, headers));
  }
}

/** Where a sip: URI sends a request: its host and port (5060 when absent), UDP unless transport=tcp. */
function peerOf(uri: string): Peer | undefined {
  const target = uriHostPort(uri);
  if (!target) return undefined;
  return { transport: target.transport === 'tcp' ? 'tcp' : 'udp', address: target.host.replace(/^\[|\]$/g, ''), port: target.port ?? 5060 };
}

/** Marks the Vias of requests relayed statelessly (sofia's stateless branches have a dot; ours, from newBranch, none). */
const RELAYED_BRANCH = 'z9hG4bK.';

/** The Route entries in order, one per URI. */
function routesOf(request: SipRequest): string[] {
  return request.headers
    .filter((h) => headerKey(h.name) === 'route')
    .flatMap((h) => splitOutside(h.value, ','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

/** Where a response goes back to, by the Via below ours (RFC 3261 §18.2.2, RFC 3581). */
function responsePeer(via: Via): Peer {
  const rport = viaParam(via, 'rport');
  return {
    transport: via.transport === 'TCP' ? 'tcp' : 'udp',
    address: (viaParam(via, 'received') ?? via.host).replace(/^\[|\]$/g, ''),
    port: rport ? Number(rport) : (via.port ?? 5060),
  };
}

/** drachtio-server's order of failures, best first (its bestResponseOrder). */
function rank(status: number): number {
  if (status >= 600) return 0;
  if ([401, 407, 415, 420, 484].includes(status)) return 1;
  if (status >= 400 && status < 500) return 2;
  if (status >= 500) return 3;
  return 4;
}

/** The response as the callee sent it, without our Via (RFC 3261 §16.7 step 3). */
function withoutTopVia(response: SipResponse): Buffer {
  const index = response.headers.findIndex((h) => headerKey(h.name) === 'via');
  const headers = [...response.headers];
  if (index !== -1) {
    const rest = splitOutside(headers[index]!.value, ',').slice(1).map((part) => part.trim());
    if (rest.length === 0) headers.splice(index, 1);
    else headers[index] = { name: 'Via', value: rest.join(', ') };
  }
  return serializeMessage({ ...response, headers });
}

export class ProxyCore {
  private readonly byBranch = new Map<string, { attempt: Attempt; session: ProxySession }>();

  constructor(private readonly ctx: CoreContext) {}

  /** `proxy|<transaction id>|<remainInDialog>|<fullResponse>|<followRedirects>|<serial|simultaneous>|<provisional>|<final>|<destination>...` */
  onAppProxy(link: AppLink, messageId: string, args: readonly string[], sip: string | undefined, take: (transactionId: string) => ProxiedInvite | undefined): void {
    const [transactionId = '', remainInDialog = '', , , , , , ...destinations] = args;
    const invite = take(transactionId);
    if (!invite) {
      link.send(nokResponse(messageId, `Unknown transaction id: ${transactionId}`));
      return;
    }
    const appHeaders = sip ? (parseSipMessage(Buffer.from(sip, 'utf8'), { bodyToEnd: true })?.message.headers ?? []) : [];
    const command: ProxyCommand = { recordRoute: remainInDialog === 'remainInDialog', destinations: destinations.filter((d) => d.length > 0), headers: appHeaders };
    if (Number(/^\s*(\d+)/.exec(invite.request.headers.find((h) => headerKey(h.name) === 'max-forwards')?.value ?? '70')?.[1] ?? 70) <= 0) {
      link.send(nokResponse(messageId, 'Rejected with 483 Too Many Hops due to Max-Forwards value of 0'));
      invite.respond(483, invite.stackResponse(483, 'Too Many Hops'));
      return;
    }
    const session = new ProxySession(this.ctx, this, invite, command, link, messageId);
    if (!session.start()) {
      link.send(nokResponse(messageId, 'error proxying request to '));
      invite.respond(500, invite.stackResponse(500, 'Server Internal Error'));
    }
  }

  /**
   * A request of a dialog this server record-routed as a proxy: relayed to the next hop
   * without the app (see the top of this file). false when it is not one.
   */
  relayRouted(parsed: ParsedSip, source: Peer): boolean {
    const received = parsed.message;
    if (received.kind !== 'request' || tagIn(received, 'to') === undefined) return false;
    const routes = routesOf(received);
    const first = routes[0] === undefined ? undefined : parseNameAddr(routes[0])?.uri;
    if (!first || !/;lr(?:[;=?]|$)/i.test(first) || !this.isOurHost(first)) return false;
    if (this.ctx.dialogs.match(callIdOf(received) ?? '', tagIn(received, 'to') ?? '', tagIn(received, 'from') ?? '')) return false;
    const verdict = checkRequest(parsed, source);
    if (verdict.kind !== 'accept') return false;
    const { request } = verdict;
    const rest = routes.slice(1);
    const nextHop = rest[0] === undefined ? request.uri : (parseNameAddr(rest[0])?.uri ?? request.uri);
    const destination = peerOf(nextHop);
    if (!destination) return false;
    const host = uriHost(this.ctx.local.host);
    const sentBy = this.ctx.local.port === 5060 ? host : `${host}:${this.ctx.local.port}`;
    const headers: SipHeader[] = [{ name: 'Via', value: `SIP/2.0/${destination.transport.toUpperCase()} ${sentBy};rport;branch=${RELAYED_BRANCH}${newBranch().slice(7)}` }];
    let routed = false;
    for (const header of request.headers) {
      if (headerKey(header.name) !== 'route') headers.push(header);
      else if (!routed) {
        routed = true;
        if (rest.length > 0) headers.push({ name: 'Route', value: rest.join(', ') });
      }
    }
    this.ctx.transport.send(destination, serializeMessage({ ...request, headers }));
    return true;
  }

  /** A sip: URI naming this server's host (drachtio-server does not compare the port). */
  private isOurHost(uri: string): boolean {
    const host = uriHostPort(uri)?.host.replace(/^\[|\]$/g, '');
    return host !== undefined && (host === this.ctx.local.host || host === this.ctx.transport.host);
  }

  /** A response from the network: true when it belongs to a proxied request. */
  onResponse(parsed: ParsedSip, source: Peer, size: number): boolean {
    const response = parsed.message;
    if (response.kind !== 'response') return false;
    const via = topViaOf(response);
    const branch = via && viaParam(via, 'branch');
    if (branch?.startsWith(RELAYED_BRANCH)) {
      // To a request relayed statelessly: on to the Via below ours, if there is one.
      const below = viasOf(response)?.[1];
      if (below) this.ctx.transport.send(responsePeer(below), withoutTopVia(response));
      return true;
    }
    const tracked = branch ? this.byBranch.get(branch) : undefined;
    if (!tracked) return false;
    // Responses to our CANCEL end here (drachtio-server discards them too).
    if (cseqOf(response)?.method === 'CANCEL') return true;
    tracked.session.onResponse(tracked.attempt, response, source, size);
    return true;
  }

  track(branch: string, attempt: Attempt, session: ProxySession): void {
    this.byBranch.set(branch, { attempt, session });
  }

  forget(branch: string): void {
    this.byBranch.delete(branch);
  }

  close(): void {
    this.byBranch.clear();
  }
}
