/**
 * The server side: requests from SIP peers and the app's responses to them. This is where
 * drachtio-server's observable UAS behaviour lives: 100 Trying before the app hears of an
 * INVITE, retransmissions absorbed, CANCEL answered by the stack, ACKs routed, dialogs
 * created on 2xx, and the app's responses sent on (completed by uas-responses.ts).
 */
import type { AppLink } from './app-link.js';
import { cdrFrame, localAddress, postCdr, type CoreContext } from './core-context.js';
import { dialogIdFor, sendInDialog, type AppFrame, type Dialog } from './dialogs.js';
import { newTag, newUuid } from './ids.js';
import { checkRequest, responseTarget } from './request-validation.js';
import { viaParam, withoutTag, type Via } from './sip-headers.js';
import { addrOf, callIdOf, contactUriOf, cseqOf, recordRouteOf, tagIn, topViaOf, type CSeq } from './sip-fields.js';
import { parseSipMessage, serializeMessage, type ParsedSip, type SipRequest, type SipResponse } from './sip-message.js';
import { isStream, type Peer } from './sip-transport.js';
import type { ProxiedInvite } from './proxy-core.js';
import { InviteServerTransaction, NonInviteServerTransaction, type TransactionContext } from './transactions.js';
import { completeResponse, stackResponse, type Answerable } from './uas-responses.js';
import { nokResponse, responseSent, sipFromNetwork } from './wire-messages.js';

/** A request from the network the app may answer. */
interface ServerRecord extends Answerable {
  /** The transaction id the app answers with. */
  readonly id: string;
  /** The request as forwarded to the app: as received, Via stamped. */
  readonly text: string;
  readonly replyTo: Peer;
  readonly bytes: number;
  readonly cseq: CSeq;
  readonly txn: InviteServerTransaction | NonInviteServerTransaction;
  /** The dialog an in-dialog request belongs to. */
  readonly dialog: Dialog | undefined;
  /** Reported on INVITE responses (initial or re-INVITE); `<Call-ID>;from-tag=<caller tag>`. */
  readonly inviteDialogId: string;
  owner: AppLink | undefined;
  cancelled: boolean;
  /** Set once the app had the INVITE proxied: its CANCEL goes to the proxy, not the app. */
  proxyCancel: (() => void) | undefined;
}

export interface UacServices {
  /** Tears down a dialog whose 2xx was never ACKed. */
  sendAckTimeoutBye(dialog: Dialog): void;
}

function serverKey(method: string, via: Via, request: SipRequest): string {
  const branch = viaParam(via, 'branch') ?? '';
  const sentBy = `${via.host}:${via.port ?? ''}`;
  if (branch.startsWith('z9hG4bK')) return `${branch}|${sentBy}|${method}`;
  // RFC 2543 peers: no usable branch, fall back to the dialog-identifying fields.
  return `${branch}|${sentBy}|${method}|${callIdOf(request)}|${cseqOf(request)?.seq}|${tagIn(request, 'from')}`;
}

/** A call as drachtio-server tells its INVITEs apart: Call-ID and From tag. */
function callKey(request: SipRequest): string {
  return `${callIdOf(request) ?? ''}|${tagIn(request, 'from') ?? ''}`;
}

export class UasCore {
  private readonly byKey = new Map<string, ServerRecord>();
  private readonly byId = new Map<string, ServerRecord>();
  /** INVITEs an app rejected whose ACK has not come, by call (Call-ID and From tag). */
  private readonly rejectedInvites = new Map<string, ServerRecord>();

  constructor(
    private readonly ctx: CoreContext,
    private readonly uac: UacServices,
  ) {}

  onRequest(parsed: ParsedSip, source: Peer, size: number): void {
    const verdict = checkRequest(parsed, source);
    if (verdict.kind === 'drop') {
      this.ctx.log.debug({ source, why: verdict.why }, 'dropped SIP request');
      if (verdict.malformed) this.ctx.transport.shutdown(source);
      return;
    }
    if (verdict.kind === 'reject') {
      this.ctx.log.debug({ source, why: verdict.why }, 'rejected malformed SIP request');
      this.ctx.transport.send(responseTarget(topViaOf(verdict.reply)!, source), serializeMessage(verdict.reply));
      if (!verdict.keepsConnection) this.ctx.transport.shutdown(source);
      return;
    }
    const { request, vias } = verdict;
    const topVia = vias[0]!;
    if (request.method === 'ACK') return this.onAck(request, topVia, source, size);
    if (request.method === 'CANCEL') return this.onCancel(request, vias, source);
    const existing = this.byKey.get(serverKey(request.method, topVia, request));
    if (existing) return existing.txn.onRequestRetransmission();
    if (tagIn(request, 'to') !== undefined) return this.onInDialogRequest(request, vias, source, size);
    this.onNewRequest(request, vias, source, size);
  }

  onAppResponse(link: AppLink, messageId: string, transactionId: string, text: string): void {
    const parsed = parseSipMessage(Buffer.from(text, 'utf8'), { bodyToEnd: true });
    const record = this.byId.get(transactionId);
    if (!parsed || parsed.message.kind !== 'response' || !record || record.cancelled || this.finalSentOnNonInvite(record)) {
      const method = parsed ? cseqOf(parsed.message)?.method : undefined;
      const reason = method === 'CANCEL' ? '200 OK to incoming CANCEL is automatically generated by the stack' : 'Response not sent due to unknown transaction';
      link.send(nokResponse(messageId, reason));
      return;
    }
    const isInvite = record.request.method === 'INVITE';
    const previous = record.txn.lastResponse;
    if (isInvite && record.txn instanceof InviteServerTransaction && record.txn.finalStatus >= 200 && previous) {
      // drachtio-server discards a second final response and echoes the one already sent.
      link.send(this.echo(messageId, record, previous));
      return;
    }
    const response = completeResponse(record, parsed.message, localAddress(this.ctx, record.source.transport));
    const bytes = serializeMessage(response);
    record.txn.respond(response.status, bytes);
    const echo = this.echo(messageId, record, bytes);
    if (isInvite) this.afterInviteResponse(record, response, link, bytes, echo);
    else link.send(echo);
  }

  /**
   * A new INVITE the app hands to the proxy (`proxy|<transaction id>|...`): the app answers
   * it no more (its responses to it are refused as for an unknown transaction), the proxy
   * sends the caller its responses on the INVITE's transaction. Undefined when the id names
   * no such INVITE (unknown, answered, cancelled, or in a dialog).
   */
  takeForProxy(transactionId: string): ProxiedInvite | undefined {
    const record = this.byId.get(transactionId);
    const txn = record?.txn;
    if (!record || record.request.method !== 'INVITE' || record.dialog || record.cancelled || !(txn instanceof InviteServerTransaction) || txn.finalStatus > 0) return undefined;
    this.byId.delete(transactionId);
    record.owner = undefined;
    return {
      request: record.request,
      respond: (status, data) => txn.respond(status, data),
      relay2xx: (status, data) => txn.relay2xx(status, data),
      stackResponse: (status, reason) => stackResponse(record, status, reason),
      onCancel: (listener) => {
        record.proxyCancel = listener;
      },
    };
  }

  close(): void {
    this.byKey.clear();
    this.byId.clear();
    this.rejectedInvites.clear();
  }

  // ----------------------------------------------------------------------- network side

  private onNewRequest(request: SipRequest, vias: readonly Via[], source: Peer, size: number): void {
    const isInvite = request.method === 'INVITE';
    const record = this.createRecord(request, vias, source, size, undefined);
    if (isInvite && this.awaitingAck(request)) {
      // drachtio-server: the call's earlier INVITE has its non-2xx final but no ACK yet.
      record.txn.respond(491, stackResponse(record, 491, 'Request Pending'));
      return;
    }
    if (isInvite) record.txn.respond(100, stackResponse(record, 100, 'Trying'));
    if (request.method === 'BYE' || request.method === 'PRACK') {
      record.txn.respond(481, stackResponse(record, 481, 'Call/Transaction Does Not Exist'));
      return;
    }
    const app = this.ctx.apps.select(request.method);
    if (!app) {
      record.txn.respond(503, stackResponse(record, 503, 'Service Unavailable'));
      return;
    }
    record.owner = app;
    app.send(
      sipFromNetwork({
        text: record.text,
        bytes: size,
        transport: source.transport,
        from: source,
        transactionId: record.id,
        dialogId: '',
        receivedOn: localAddress(this.ctx, source.transport),
      }),
    );
    if (isInvite) postCdr(this.ctx, { type: 'cdr:attempt', source: 'network' }, record.text);
  }

  private onInDialogRequest(request: SipRequest, vias: readonly Via[], source: Peer, size: number): void {
    const dialog = this.ctx.dialogs.match(callIdOf(request) ?? '', tagIn(request, 'to') ?? '', tagIn(request, 'from') ?? '');
    const record = this.createRecord(request, vias, source, size, dialog);
    if (!dialog || !this.ctx.apps.has(dialog.owner)) {
      record.txn.respond(481, stackResponse(record, 481, 'Call/Transaction Does Not Exist'));
      return;
    }
    // RFC 3261 12.2.2: a request older than the last one seen is out of order.
    if (record.cseq.seq < dialog.remoteSeq) {
      record.txn.respond(500, stackResponse(record, 500, 'Internal Server Error'));
      return;
    }
    dialog.remoteSeq = record.cseq.seq;
    record.owner = dialog.owner;
    if (request.method === 'INVITE') record.txn.respond(100, stackResponse(record, 100, 'Trying'));
    if (request.method === 'BYE') {
      dialog.pendingAck?.transaction.on2xxAck();
      this.ctx.dialogs.delete(dialog);
    }
    sendInDialog(dialog, {
      link: dialog.owner,
      body: sipFromNetwork({ text: record.text, bytes: size, transport: source.transport, from: source, transactionId: record.id, dialogId: dialog.id }),
    });
    if (request.method === 'BYE') postCdr(this.ctx, { type: 'cdr:stop', source: 'network', reason: 'normal-release' }, record.text);
  }

  private onAck(ack: SipRequest, topVia: Via, source: Peer, size: number): void {
    const invite = this.byKey.get(serverKey('INVITE', topVia, ack));
    if (invite && invite.txn instanceof InviteServerTransaction && invite.txn.finalStatus >= 300) {
      invite.txn.onNon2xxAck();
      this.forgetRejected(invite);
      return;
    }
    const dialog = this.ctx.dialogs.match(callIdOf(ack) ?? '', tagIn(ack, 'to') ?? '', tagIn(ack, 'from') ?? '');
    if (!dialog) return; // stray ACK: dropped
    // drachtio-server passes on every ACK in a dialog; only the one answering a pending 2xx
    // stops its retransmissions and carries the INVITE's transaction id.
    const pending = dialog.pendingAck?.cseq === cseqOf(ack)?.seq ? dialog.pendingAck : undefined;
    if (pending) {
      pending.transaction.on2xxAck();
      dialog.pendingAck = undefined;
    }
    const text = serializeMessage(ack).toString('utf8');
    sendInDialog(dialog, {
      link: dialog.owner,
      body: sipFromNetwork({
        text,
        bytes: size,
        transport: '',
        from: source,
        transactionId: pending?.initial ? pending.transactionId : newUuid(),
        dialogId: dialog.id,
      }),
    });
  }

  private onCancel(cancel: SipRequest, vias: readonly Via[], source: Peer): void {
    const cancelKey = serverKey('CANCEL', vias[0]!, cancel);
    const repeated = this.byKey.get(cancelKey);
    if (repeated) return repeated.txn.onRequestRetransmission();
    const cancelRecord = this.createRecord(cancel, vias, source, 0, undefined);
    const invite = this.byKey.get(serverKey('INVITE', vias[0]!, cancel));
    const inviteTxn = invite?.txn instanceof InviteServerTransaction ? invite.txn : undefined;
    if (!invite || !inviteTxn || (inviteTxn.finalStatus >= 200 && inviteTxn.finalStatus < 300)) {
      cancelRecord.txn.respond(481, stackResponse(cancelRecord, 481, 'Call/Transaction Does Not Exist'));
      return;
    }
    // RFC 3261 9.2: the 200 to the CANCEL and the 487 carry the INVITE transaction's tag.
    invite.tag ??= newTag();
    cancelRecord.tag = invite.tag;
    cancelRecord.txn.respond(200, stackResponse(cancelRecord, 200, 'OK'));
    if (inviteTxn.finalStatus >= 300) return;
    invite.cancelled = true;
    inviteTxn.respond(487, stackResponse(invite, 487, 'Request Terminated'));
    if (invite.proxyCancel) return invite.proxyCancel();
    invite.owner?.send(
      sipFromNetwork({
        text: cancelRecord.text,
        bytes: invite.bytes,
        transport: source.transport,
        from: source,
        transactionId: invite.id,
        dialogId: invite.inviteDialogId,
      }),
    );
  }

  private createRecord(request: SipRequest, vias: readonly Via[], source: Peer, size: number, dialog: Dialog | undefined): ServerRecord {
    const topVia = vias[0]!;
    const replyTo = responseTarget(topVia, source);
    const key = serverKey(request.method, topVia, request);
    const txnCtx: TransactionContext = {
      timers: this.ctx.timers,
      reliable: isStream(source.transport),
      send: (data) => this.ctx.transport.send(replyTo, data),
    };
    const id = newUuid();
    const forget = () => {
      if (this.byKey.get(key) === record) this.byKey.delete(key);
      this.byId.delete(id);
      this.forgetRejected(record);
    };
    const txn =
      request.method === 'INVITE'
        ? new InviteServerTransaction(txnCtx, { onTerminated: forget, onAckTimeout: () => this.onAckTimeout(record) })
        : new NonInviteServerTransaction(txnCtx, { onTerminated: forget });
    const record: ServerRecord = {
      id,
      request,
      text: serializeMessage(request).toString('utf8'),
      vias,
      source,
      replyTo,
      bytes: size,
      cseq: cseqOf(request)!,
      txn,
      dialog,
      inDialog: dialog !== undefined,
      inviteDialogId: request.method === 'INVITE' ? dialogIdFor(callIdOf(request) ?? '', tagIn(request, 'from') ?? '') : '',
      owner: undefined,
      tag: undefined,
      cancelled: false,
      proxyCancel: undefined,
    };
    this.byKey.set(key, record);
    this.byId.set(id, record);
    return record;
  }

  /** An INVITE of the same call that an app rejected and whose ACK has not come. */
  private awaitingAck(invite: SipRequest): boolean {
    return this.rejectedInvites.get(callKey(invite))?.txn.state === 'completed';
  }

  // ----------------------------------------------------------------------- app side

  private finalSentOnNonInvite(record: ServerRecord): boolean {
    return record.txn instanceof NonInviteServerTransaction && (record.txn.state === 'completed' || record.txn.state === 'terminated');
  }

  private echo(messageId: string, record: ServerRecord, sent: Buffer): string {
    const isInvite = record.request.method === 'INVITE';
    const dialogId = isInvite ? record.inviteDialogId : record.dialog && this.ctx.dialogs.has(record.dialog.id) ? record.dialog.id : '';
    return responseSent(messageId, sent.toString('utf8'), sent.length, isInvite ? record.source.transport : '', record.replyTo, record.id, dialogId);
  }

  private afterInviteResponse(record: ServerRecord, response: SipResponse, link: AppLink, sent: Buffer, echo: string): void {
    const text = sent.toString('utf8');
    const success = response.status >= 200 && response.status < 300;
    const txn = record.txn as InviteServerTransaction;
    if (record.dialog || !success) link.send(echo);
    if (record.dialog) {
      if (success) {
        record.dialog.remoteTarget = contactUriOf(record.request) ?? record.dialog.remoteTarget;
        record.dialog.pendingAck = { cseq: record.cseq.seq, transactionId: record.id, initial: false, transaction: txn };
      }
      return;
    }
    if (success) {
      // The 200 is on its way to the caller; the app hears of it with the caller's next
      // message (README, "When the app hears of its 200").
      const held: AppFrame[] = [{ link, body: echo }];
      const start = cdrFrame(this.ctx, { type: 'cdr:start', source: 'application', role: 'uas' }, text);
      if (start) held.push(start);
      const dialog = this.createDialog(record, link, txn);
      dialog.held = { frames: held, timer: this.ctx.timers.start(this.ctx.timers.values.t1, () => sendInDialog(dialog)) };
      this.ctx.dialogs.add(dialog);
    } else if (response.status >= 300) {
      this.rejectedInvites.set(callKey(record.request), record);
      postCdr(this.ctx, { type: 'cdr:stop', source: 'application', reason: 'call-rejected' }, text);
    }
  }

  private forgetRejected(record: ServerRecord): void {
    const key = callKey(record.request);
    if (this.rejectedInvites.get(key) === record) this.rejectedInvites.delete(key);
  }

  private createDialog(record: ServerRecord, owner: AppLink, txn: InviteServerTransaction): Dialog {
    const request = record.request;
    return {
      id: record.inviteDialogId,
      side: 'uas',
      callId: callIdOf(request)!,
      localTag: record.tag!,
      remoteTag: tagIn(request, 'from') ?? '',
      local: withoutTag(addrOf(request, 'to')!),
      remote: withoutTag(addrOf(request, 'from')!),
      remoteTarget: contactUriOf(request) ?? request.uri,
      routeSet: recordRouteOf(request),
      localSeq: record.cseq.seq,
      remoteSeq: record.cseq.seq,
      transport: record.source.transport,
      peer: record.source,
      owner,
      pendingAck: { cseq: record.cseq.seq, transactionId: record.id, initial: true, transaction: txn },
      outgoingInvite: undefined,
      held: undefined,
    };
  }
  private onAckTimeout(record: ServerRecord): void {
    const dialog = record.dialog ?? this.ctx.dialogs.get(record.inviteDialogId);
    record.txn.terminate();
    if (dialog && dialog.pendingAck?.transaction === record.txn) {
      dialog.pendingAck = undefined;
      this.uac.sendAckTimeoutBye(dialog);
    }
  }
}
