/**
 * Dialogs the stand-in holds for the app: as UAS (a caller's INVITE created them) or as UAC
 * (a 2xx to an INVITE the app sent), keyed the way drachtio-server names them:
 * `<Call-ID>;from-tag=<the INVITE's From tag>`.
 */
import type { AppLink } from './app-link.js';
import { newBranch } from './ids.js';
import { formatNameAddr, formatVia, headerKey, uriHost, withTag, type NameAddr } from './sip-headers.js';
import { uriHostPort } from './sip-fields.js';
import { buildRequest, type SipHeader, type SipRequest } from './sip-message.js';
import type { Peer, TransportName } from './sip-transport.js';
import type { Timer } from './timers.js';
import type { InviteServerTransaction } from './transactions.js';
import type { LocalAddress } from './wire-messages.js';

/** A 2xx the caller has not ACKed yet. */
export interface PendingAck {
  readonly cseq: number;
  /** The transaction id the app knows the INVITE by; reported on the ACK of the initial INVITE only. */
  readonly transactionId: string;
  readonly initial: boolean;
  readonly transaction: InviteServerTransaction;
}

/** A re-INVITE the app sent in the dialog, and the ACK it sent for the 2xx (re-sent on 2xx retransmissions). */
export interface OutgoingInvite {
  readonly cseq: number;
  answered: boolean;
  ack?: Buffer;
}

export interface Dialog {
  readonly id: string;
  /** uas: the network's INVITE made it; uac: the app's own INVITE did. */
  readonly side: 'uas' | 'uac';
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** Our URI, without tag: the To of the INVITE (uas) or its From (uac). */
  readonly local: NameAddr;
  /** The peer, without tag: the From of the INVITE (uas) or its To (uac). */
  readonly remote: NameAddr;
  /** Where in-dialog requests go: the peer's Contact (refreshed by re-INVITEs). */
  remoteTarget: string;
  readonly routeSet: readonly string[];
  /** Last CSeq we used; sofia starts it at the caller's INVITE CSeq. */
  localSeq: number;
  /** Last CSeq the caller used, for RFC 3261 12.2.2 ordering. */
  remoteSeq: number;
  readonly transport: TransportName;
  /** Source of the INVITE (the caller's address, or its TCP connection); for uac, where the INVITE went. */
  readonly peer: Peer;
  /** The app that answered the INVITE and receives everything in the dialog. */
  readonly owner: AppLink;
  pendingAck: PendingAck | undefined;
  outgoingInvite: OutgoingInvite | undefined;
  /** Frames held back until the dialog's next message: the news of the 2xx that made it (README, "When the app hears of its 200"). */
  held: { readonly frames: readonly AppFrame[]; readonly timer: Timer } | undefined;
}

/** A wire frame for one app. */
export interface AppFrame {
  readonly link: AppLink;
  readonly body: string;
}

/** Sends what the dialog held back, then `frame`, in order; consecutive frames for one app go in one write. */
export function sendInDialog(dialog: Dialog, frame?: AppFrame): void {
  const frames = [...(dialog.held?.frames ?? []), ...(frame ? [frame] : [])];
  dialog.held?.timer.cancel();
  dialog.held = undefined;
  for (let i = 0; i < frames.length; ) {
    const link = frames[i]!.link;
    const bodies: string[] = [];
    while (i < frames.length && frames[i]!.link === link) bodies.push(frames[i++]!.body);
    link.send(...bodies);
  }
}

/** RFC 3261 19.1.2: 5061 for SIP over TLS, 5060 otherwise. */
function defaultPort(transport: TransportName): number {
  return transport === 'tls' ? 5061 : 5060;
}

export function dialogIdFor(callId: string, callerTag: string): string {
  return `${callId};from-tag=${callerTag}`;
}

export class DialogStore {
  private readonly byId = new Map<string, Dialog>();

  add(dialog: Dialog): void {
    this.byId.set(dialog.id, dialog);
  }

  get(id: string): Dialog | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Matches a request from the peer: its From tag is our remote tag, its To tag our local one. */
  match(callId: string, toTag: string, fromTag: string): Dialog | undefined {
    const asUas = this.byId.get(dialogIdFor(callId, fromTag));
    if (asUas?.side === 'uas' && asUas.localTag === toTag) return asUas;
    const asUac = this.byId.get(dialogIdFor(callId, toTag));
    return asUac?.side === 'uac' && asUac.remoteTag === fromTag ? asUac : undefined;
  }

  byCallId(callId: string): Dialog | undefined {
    for (const dialog of this.byId.values()) if (dialog.callId === callId) return dialog;
    return undefined;
  }

  delete(dialog: Dialog): void {
    if (this.byId.get(dialog.id) === dialog) this.byId.delete(dialog.id);
  }

  clear(): void {
    this.byId.clear();
  }
}

/** Headers drachtio-server never takes from the app, plus those the dialog itself owns. */
const NOT_FROM_APP = new Set(['via', 'route', 'rseq', 'record-route', 'content-length', 'from', 'to', 'call-id', 'cseq']);

export interface InDialogRequest {
  readonly method: string;
  /** Request-URI; defaults to the remote target. */
  readonly uri?: string;
  readonly cseq: number;
  readonly headers: readonly SipHeader[];
  readonly body: Buffer;
}

/**
 * A request inside the dialog as sofia builds it: Via without port when it is the
 * transport's default (5060, 5061 for TLS), rport requested (not over TLS), Max-Forwards 70, the dialog's From/To/Call-ID, a Contact only on
 * INVITE/SUBSCRIBE/REFER, then the app's own headers.
 */
export function buildInDialogRequest(dialog: Dialog, request: InDialogRequest, local: LocalAddress): SipRequest {
  const host = uriHost(local.host);
  const sentBy = local.port === defaultPort(dialog.transport) ? host : `${host}:${local.port}`;
  const via = formatVia({
    protocol: `SIP/2.0/${dialog.transport.toUpperCase()}`,
    transport: dialog.transport.toUpperCase(),
    host: sentBy,
    port: undefined,
    // drachtio-server asks for rport over UDP and TCP, not over TLS (checked against it).
    params: [...(dialog.transport === 'tls' ? [] : ['rport']), `branch=${newBranch()}`],
  });
  const appHeaders = request.headers.filter((h) => !NOT_FROM_APP.has(headerKey(h.name)));
  const headers: SipHeader[] = [
    { name: 'Via', value: via },
    ...dialog.routeSet.map((route) => ({ name: 'Route', value: route })),
    ...(appHeaders.some((h) => headerKey(h.name) === 'max-forwards') ? [] : [{ name: 'Max-Forwards', value: '70' }]),
    { name: 'From', value: formatNameAddr(withTag(dialog.local, dialog.localTag)) },
    { name: 'To', value: formatNameAddr(withTag(dialog.remote, dialog.remoteTag)) },
    { name: 'Call-ID', value: dialog.callId },
    { name: 'CSeq', value: `${request.cseq} ${request.method}` },
  ];
  const wantsContact = ['INVITE', 'SUBSCRIBE', 'REFER'].includes(request.method);
  if (wantsContact && !appHeaders.some((h) => headerKey(h.name) === 'contact')) {
    headers.push({ name: 'Contact', value: `<${dialog.transport === 'tls' ? 'sips' : 'sip'}:${host}:${local.port};transport=${dialog.transport}>` });
  }
  headers.push(...appHeaders);
  return buildRequest(request.method, request.uri ?? dialog.remoteTarget, headers, request.body);
}

/**
 * Where in-dialog requests are sent: the first Route if there is a route set, else the
 * remote target; if the target's host and port are not the address the caller's INVITE came
 * from (a NATed caller, or a proxy in between), that source address instead, as
 * drachtio-server does (checked: a Contact on the INVITE's host but another port counts too).
 */
export function requestDestination(dialog: Dialog): Peer {
  const next = uriHostPort(dialog.routeSet[0]?.replace(/^<|>.*$/g, '') ?? dialog.remoteTarget);
  const natedCaller =
    dialog.side === 'uas' &&
    dialog.routeSet.length === 0 &&
    (next?.host.replace(/^\[|\]$/g, '') !== dialog.peer.address || (next.port ?? defaultPort(dialog.transport)) !== dialog.peer.port);
  if (!next || natedCaller) {
    return { transport: dialog.transport, address: dialog.peer.address, port: dialog.peer.port };
  }
  const transport: TransportName = next.transport === 'tcp' || next.transport === 'udp' || next.transport === 'tls' ? next.transport : dialog.transport;
  return { transport, address: next.host.replace(/^\[|\]$/g, ''), port: next.port ?? defaultPort(transport) };
}
