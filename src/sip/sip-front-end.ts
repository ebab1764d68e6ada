/**
 * The SIP edge as the gateway sees it: a drachtio-srf application connected to
 * drachtio-server (DRACHTIO_ADDRESS), or, when none is configured, to the embedded
 * drachtio-server stand-in started here, in a thread of its own, on SIP_PORT (and SIP over
 * TLS on SIP_TLS_PORT when a certificate is configured). drachtio-srf reconnects by itself
 * with backoff; the connection state (and the embedded stand-in's) feeds /readyz.
 *
 * After a reconnection the dialogs from before are reconciled: each is probed through
 * drachtio-server, and those that are gone (drachtio-server was restarted, or the caller
 * no longer has the call) are reported to the listener so their calls end and release
 * their media; the others are kept, now on the new connection. What the gateway sends in
 * a kept dialog reaches the caller, but drachtio-server (and the stand-in) answer the
 * caller's own in-dialog requests 481 from then on, the app that made the dialog being
 * gone: a kept call whose caller hangs up ends by its RTP timeout.
 */
import type { GatewayConfig } from '../config/config.js';
import type { Logger } from '../logger.js';
import { EmbeddedStandin } from './embedded-standin.js';
import { type SipDialog, type SrfApp, dialogAlive, dialogsFromBefore, forgetDialog, newSrf, stopConnecting } from './srf.js';

const RECONNECT_MAX_DELAY_MS = 5000;

/** A dialog found gone after a reconnection: its call must end (no BYE can reach the caller through it). */
export type DialogLostListener = (callId: string, reason: string) => void;

export class SipFrontEnd {
  private connected = false;
  private wasConnected = false;
  /** drachtio-server's UDP SIP address (host:port), from its answer to our connection. */
  private udpHostport: string | undefined;
  /** Its TLS SIP address, when it has a TLS contact. */
  private tlsHostport: string | undefined;
  private dialogLost: DialogLostListener = () => undefined;

  private constructor(
    readonly srf: SrfApp,
    private readonly standin: EmbeddedStandin | undefined,
    private readonly log: Logger,
  ) {
    srf.on('connect', (err, hostport) => {
      if (err) return;
      this.connected = true;
      this.udpHostport = /(?:^|,)udp\/([^,]+)/.exec(hostport)?.[1];
      this.tlsHostport = /(?:^|,)tls\/([^,]+)/.exec(hostport)?.[1];
      log.info({ hostport }, 'connected to drachtio-server');
      if (this.wasConnected) void this.reconcile();
      this.wasConnected = true;
    });
    srf.on('close', () => {
      if (this.connected) log.warn('lost drachtio-server; reconnecting');
      this.connected = false;
    });
    srf.on('reconnecting', (retry) => log.info({ retry }, 'reconnecting to drachtio-server'));
    srf.on('error', (err) => log.debug({ reason: err instanceof Error ? err.message : String(err) }, 'drachtio connection error'));
  }

  /** Starts the embedded stand-in if needed and begins connecting; does not wait for the connection. */
  static async start(config: GatewayConfig, log: Logger): Promise<SipFrontEnd> {
    const sipLog = log.child({ component: 'sip' });
    let standin: EmbeddedStandin | undefined;
    let address = config.drachtioAddress;
    if (!address) {
      standin = await EmbeddedStandin.start(config, log);
      address = standin.adminAddress;
      sipLog.info({ sip: standin.sipAddress, sipTls: standin.sipTlsAddress }, 'no DRACHTIO_ADDRESS: running the embedded drachtio-server stand-in');
    }
    const srf = newSrf();
    const frontEnd = new SipFrontEnd(srf, standin, sipLog);
    srf.connect({
      host: address.host,
      port: address.port,
      secret: config.drachtioSecret,
      reconnect: { retryMaxDelay: RECONNECT_MAX_DELAY_MS },
    });
    return frontEnd;
  }

  /** Where SIP is received when the embedded stand-in runs (tests dial it). */
  get sipAddress(): { host: string; port: number } | undefined {
    return this.standin?.sipAddress;
  }

  /** Where drachtio-server receives SIP over UDP (host:port), for a Contact; undefined before the first connection. */
  get contactHostport(): string | undefined {
    return this.udpHostport;
  }

  /** Where drachtio-server receives SIP over TLS (host:port), for a Contact; undefined before the first connection or without a TLS contact. */
  get tlsContactHostport(): string | undefined {
    return this.tlsHostport;
  }

  /** Where SIP over TLS is received when the embedded stand-in runs with a certificate. */
  get sipTlsAddress(): { host: string; port: number } | undefined {
    return this.standin?.sipTlsAddress;
  }

  /** Who ends the calls whose dialogs are found gone after a reconnection. */
  onDialogLost(listener: DialogLostListener): void {
    this.dialogLost = listener;
  }

  /** The embedded stand-in, when it runs (tests crash its thread). */
  get embeddedStandin(): EmbeddedStandin | undefined {
    return this.standin;
  }

  /** Undefined when connected to drachtio-server; otherwise what is down, for /readyz. */
  problem(): string | undefined {
    return this.standin?.problem() ?? (this.connected ? undefined : 'not connected to drachtio-server');
  }

  private async reconcile(): Promise<void> {
    const dialogs = dialogsFromBefore(this.srf);
    if (dialogs.length === 0) return;
    const outcomes = await Promise.all(dialogs.map(async (dialog) => ({ dialog, outcome: await dialogAlive(dialog) })));
    let kept = 0;
    for (const { dialog, outcome } of outcomes) {
      if (outcome.alive) {
        kept++;
        continue;
      }
      this.forget(dialog, outcome.reason);
    }
    this.log.info({ kept, ended: dialogs.length - kept }, 'dialogs from before the reconnection reconciled');
  }

  private forget(dialog: SipDialog, reason: string): void {
    forgetDialog(this.srf, dialog);
    this.log.warn({ callId: dialog.sip.callId, reason }, 'dialog gone after the reconnection to drachtio-server; ending its call');
    this.dialogLost(dialog.sip.callId, reason);
  }

  async close(): Promise<void> {
    if (this.connected) this.srf.disconnect();
    else stopConnecting(this.srf);
    this.connected = false;
    await this.standin?.close();
  }
}
