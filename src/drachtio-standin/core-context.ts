/** What the UAS and UAC cores share: the network, the clock, the connected apps and the dialogs. */
import type { Logger } from 'pino';
import type { AppLinks } from './app-link.js';
import type { AppFrame, DialogStore } from './dialogs.js';
import type { SipTransport, TransportName } from './sip-transport.js';
import type { TimerSet } from './timers.js';
import { cdr, type CdrEvent, type LocalAddress } from './wire-messages.js';

export interface CoreContext {
  readonly transport: SipTransport;
  readonly timers: TimerSet;
  readonly apps: AppLinks;
  readonly dialogs: DialogStore;
  /** The SIP listener's address (used in Contact, Via and the wire messages' local fields). */
  readonly local: LocalAddress;
  /** The TLS listener's address, when there is one. */
  readonly localTls: LocalAddress | undefined;
  /** drachtio.conf `<cdrs>`: CDR messages are only sent when enabled. */
  readonly cdrs: boolean;
  readonly log: Logger;
}

/** Our address on a transport: the TLS listener's for TLS, the UDP/TCP one otherwise. */
export function localAddress(ctx: CoreContext, transport: TransportName): LocalAddress {
  return transport === 'tls' && ctx.localTls ? ctx.localTls : ctx.local;
}

/** Posts a CDR to an app that routed its type, as drachtio-server does when CDRs are enabled. */
export function postCdr(ctx: CoreContext, event: CdrEvent, text: string): void {
  const frame = cdrFrame(ctx, event, text);
  frame?.link.send(frame.body);
}

/** The CDR frame postCdr would send, and the app it would go to; none when CDRs are off or nobody routed its type. */
export function cdrFrame(ctx: CoreContext, event: CdrEvent, text: string): AppFrame | undefined {
  if (!ctx.cdrs) return undefined;
  const link = ctx.apps.select(event.type);
  return link && { link, body: cdr(event, text) };
}
