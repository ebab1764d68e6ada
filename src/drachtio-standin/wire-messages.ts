/**
 * The messages the stand-in writes to drachtio-srf, field for field as drachtio-server
 * lays them out (see the reference recordings' 00-summary.md, sections 2 to 5 and 8).
 */
import { newUuid, wireTime } from './ids.js';
import type { Peer } from './sip-transport.js';
import { formatWireMessage } from './wire-codec.js';

export interface LocalAddress {
  readonly host: string;
  readonly port: number;
}

export function okResponse(appMessageId: string, ...data: string[]): string {
  return formatWireMessage([newUuid(), 'response', appMessageId, 'OK', ...data]);
}

export function noResponse(appMessageId: string, reason: string): string {
  return formatWireMessage([newUuid(), 'response', appMessageId, 'NO', reason]);
}

export function nokResponse(appMessageId: string, reason: string): string {
  return formatWireMessage([newUuid(), 'response', appMessageId, 'NOK', reason]);
}

export interface NetworkSip {
  readonly text: string;
  /** Size of the message as received; for a CANCEL, that of the INVITE it cancels. */
  readonly bytes: number;
  /** Empty for ACKs, as drachtio-server reports them. */
  readonly transport: string;
  readonly from: Peer;
  readonly transactionId: string;
  readonly dialogId: string;
  /** Set on out-of-dialog requests only: the listener that received them. */
  readonly receivedOn?: LocalAddress;
}

/** `sip|network|...`: a request or response received from a SIP peer. */
export function sipFromNetwork(m: NetworkSip): string {
  const tail = m.receivedOn ? [m.receivedOn.host, String(m.receivedOn.port), ''] : [''];
  return formatWireMessage(
    [newUuid(), 'sip', 'network', String(m.bytes), m.transport, m.from.address, String(m.from.port), wireTime(), m.transactionId, m.dialogId, ...tail],
    m.text,
  );
}

/** `sip|application|...|unsolicited|<dialog>`: a request the server itself sent in the app's dialog (ACK-timeout BYE). */
export function unsolicitedFromServer(text: string, bytes: number, transport: string, local: LocalAddress, dialogId: string): string {
  return formatWireMessage(
    [newUuid(), 'sip', 'application', String(bytes), transport, local.host, String(local.port), wireTime(), 'unsolicited', dialogId, ''],
    text,
  );
}

/** Echo of a response the app sent: where it went, its transaction and dialog, and the text as sent. */
export function responseSent(appMessageId: string, text: string, bytes: number, transport: string, to: Peer, transactionId: string, dialogId: string): string {
  return formatWireMessage(
    [newUuid(), 'response', appMessageId, 'OK', 'application', String(bytes), transport, to.address, String(to.port), wireTime(), transactionId, dialogId, '', 'Msg sent:', ''],
    text,
  );
}

/** Echo of a request the app had the server send: the local address and the transaction id the response will carry. */
export function requestSent(appMessageId: string, text: string, bytes: number, transport: string, local: LocalAddress, transactionId: string): string {
  return formatWireMessage(
    [newUuid(), 'response', appMessageId, 'OK', 'application', String(bytes), transport, local.host, String(local.port), wireTime(), transactionId, 'Msg sent:', ''],
    text,
  );
}

export type CdrEvent =
  | { readonly type: 'cdr:attempt'; readonly source: 'network' | 'application' }
  | { readonly type: 'cdr:start'; readonly source: 'network' | 'application'; readonly role: 'uas' | 'uac' }
  | { readonly type: 'cdr:stop'; readonly source: 'network' | 'application'; readonly reason: 'call-rejected' | 'call-canceled' | 'normal-release' };

export function cdr(event: CdrEvent, text: string): string {
  const extra = event.type === 'cdr:start' ? [event.role] : event.type === 'cdr:stop' ? [event.reason] : [];
  return formatWireMessage([newUuid(), event.type, event.source, wireTime(), ...extra], text);
}
