/**
 * A drachtio-server stand-in: speaks drachtio's admin wire protocol to drachtio-srf apps
 * and SIP (UDP and TCP) to the network, behaving like drachtio-server v0.9.10 as recorded
 * in the project's reference captures. Used by tests and, when no real drachtio-server is
 * configured, run in-process by the gateway.
 */
import type { Server } from 'node:net';
import { pino, type Logger } from 'pino';
import { AppLink, AppLinks } from './app-link.js';
import type { CoreContext } from './core-context.js';
import { DialogStore } from './dialogs.js';
import { uriHost } from './sip-headers.js';
import { ProxyCore } from './proxy-core.js';
import { parseSipMessage, startLine } from './sip-message.js';
import { SipTransport, listenTcp, type Peer, type SipTlsOptions, type TlsPeerVerification } from './sip-transport.js';
import { RFC3261_TIMERS, realScheduler, TimerSet, type Scheduler, type SipTimerValues } from './timers.js';
import { UacCore } from './uac-core.js';
import { UasCore } from './uas-core.js';
import type { WireMessage } from './wire-codec.js';
import { nokResponse } from './wire-messages.js';

export interface DrachtioStandinOptions {
  /** The secret apps must authenticate with. Never logged. */
  readonly secret: string;
  /** Admin (wire protocol) listener; defaults 127.0.0.1:9022. Port 0 picks a free one. */
  readonly adminHost?: string;
  readonly adminPort?: number;
  /** SIP listener, UDP and TCP on the same port; defaults 127.0.0.1:5060. Port 0 picks one free for both. */
  readonly sipHost?: string;
  readonly sipPort?: number;
  /** The address put in Contact and Via and reported to apps; defaults to sipHost. Set it when sipHost is a wildcard. */
  readonly sipAdvertisedHost?: string;
  /** SIP over TLS on sipHost: port (0 picks a free one), PEM certificate and key. Absent: no TLS. */
  readonly sipTls?: SipTlsOptions;
  /**
   * Check the certificate (chain and name) of the TLS peers the stand-in connects to, against
   * `ca` or the system's CAs; a peer that fails gets no request, which is answered 503 with
   * why. Absent: no check, as drachtio-server v0.9.10 (sofia-sip's default policy).
   */
  readonly tlsPeerVerification?: TlsPeerVerification;
  /** Logs through a child of this logger; silent when absent. */
  readonly log?: Logger;
  /** Timer values (T1, T2, T4) and the clock they run on, for compressed or manual-clock tests. */
  readonly timers?: { readonly values?: Partial<SipTimerValues>; readonly scheduler?: Scheduler };
  /** drachtio.conf `<cdrs>`: send cdr:* messages to apps that route them. Default false. */
  readonly cdrs?: boolean;
  /** Reported to apps on authentication; drachtio-srf only pings servers reporting >= v0.8.2. */
  readonly serverVersion?: string;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

const DEFAULT_VERSION = 'v0.9.10-drachtio-standin';

interface Parts {
  readonly admin: Server;
  readonly transport: SipTransport;
  readonly timers: TimerSet;
  readonly apps: AppLinks;
  readonly dialogs: DialogStore;
  readonly uas: UasCore;
  readonly uac: UacCore;
  readonly proxy: ProxyCore;
  readonly log: Logger;
}

export class DrachtioStandin {
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly parts: Parts,
    readonly adminAddress: ListenAddress,
    readonly sipAddress: ListenAddress,
    /** Where SIP over TLS is received; undefined without TLS. */
    readonly sipTlsAddress: ListenAddress | undefined,
  ) {}

  static async start(options: DrachtioStandinOptions): Promise<DrachtioStandin> {
    const log = (options.log ?? pino({ enabled: false })).child({ component: 'drachtio-standin' });
    const timers = new TimerSet(options.timers?.scheduler ?? realScheduler, { ...RFC3261_TIMERS, ...options.timers?.values }, (err) =>
      log.error({ err }, 'SIP timer failed'),
    );
    // SIP can arrive as soon as the socket is bound; it is handled once the cores exist.
    let onSipData: (data: Buffer, source: Peer) => void = () => undefined;
    let onConnectFailed: (peer: Peer, reason: string) => void = () => undefined;
    const transport = await SipTransport.open({
      host: options.sipHost ?? '127.0.0.1',
      port: options.sipPort ?? 5060,
      log,
      onMessage: (data, source) => onSipData(data, source),
      onConnectFailed: (peer, reason) => onConnectFailed(peer, reason),
      ...(options.sipTls && { tls: options.sipTls }),
      ...(options.tlsPeerVerification && { tlsPeerVerification: options.tlsPeerVerification }),
    });
    // On the real clock a due retransmission lets the input already received be read first
    // (SipTransport.afterPendingInput). A manual clock has no event-loop lag to make up for, and
    // its tests jump over whole retransmission schedules in one step.
    if (!options.timers?.scheduler) timers.gateOn((fn) => transport.afterPendingInput(fn));
    let admin: Server;
    try {
      admin = await listenTcp(options.adminHost ?? '127.0.0.1', options.adminPort ?? 9022);
    } catch (err) {
      await transport.close();
      throw err;
    }
    const sipAddress = { host: transport.host, port: transport.port };
    const advertised = { host: options.sipAdvertisedHost ?? transport.host, port: transport.port };
    const tlsPort = transport.tlsPort;
    const sipTlsAddress = tlsPort === undefined ? undefined : { host: transport.host, port: tlsPort };
    const advertisedTls = tlsPort === undefined ? undefined : { host: advertised.host, port: tlsPort };
    const adminAddress = { host: options.adminHost ?? '127.0.0.1', port: (admin.address() as { port: number }).port };
    const apps = new AppLinks();
    const dialogs = new DialogStore();
    const ctx: CoreContext = { transport, timers, apps, dialogs, local: advertised, localTls: advertisedTls, cdrs: options.cdrs ?? false, log };
    const uac = new UacCore(ctx);
    const uas = new UasCore(ctx, uac);
    const proxy = new ProxyCore(ctx);
    const standin = new DrachtioStandin({ admin, transport, timers, apps, dialogs, uas, uac, proxy, log }, adminAddress, sipAddress, sipTlsAddress);
    onSipData = (data, source) => standin.onSipData(data, source);
    onConnectFailed = (peer, reason) => uac.onConnectFailed(peer, reason);
    const hostport = `${uriHost(advertised.host)}:${advertised.port}`;
    const tlsHostport = advertisedTls && `tls/${uriHost(advertisedTls.host)}:${advertisedTls.port}`;
    // drachtio-server lists its transports newest first: TLS (its second contact), TCP, UDP.
    const hostports = [...(tlsHostport ? [tlsHostport] : []), `tcp/${hostport}`, `udp/${hostport}`].join(',');
    admin.on('connection', (socket) => {
      apps.add(
        new AppLink(socket, {
          secret: options.secret,
          hostports,
          serverVersion: options.serverVersion ?? DEFAULT_VERSION,
          log,
          onSip: (link, message) => standin.onAppSip(link, message),
          onProxy: (link, message) => proxy.onAppProxy(link, message.id, message.args, message.sip, (transactionId) => uas.takeForProxy(transactionId)),
          onClose: (link) => apps.remove(link),
        }),
      );
    });
    log.info({ admin: adminAddress, sip: sipAddress, sipTls: sipTlsAddress }, 'drachtio stand-in listening');
    return standin;
  }

  /** Stops listening, drops every app connection and SIP connection, and cancels every timer. */
  close(): Promise<void> {
    const { admin, apps, transport, timers, uas, uac, proxy, dialogs, log } = this.parts;
    this.closing ??= (async () => {
      const adminClosed = new Promise<void>((resolve) => admin.close(() => resolve()));
      apps.closeAll();
      await Promise.all([adminClosed, transport.close()]);
      timers.cancelAll();
      uas.close();
      uac.close();
      proxy.close();
      dialogs.clear();
      log.info('drachtio stand-in closed');
    })();
    return this.closing;
  }

  private onSipData(data: Buffer, source: Peer): void {
    const parsed = parseSipMessage(data);
    this.parts.log.trace({ source, bytes: data.length, line: parsed ? startLine(parsed.message) : undefined }, 'SIP received');
    if (!parsed) {
      this.parts.log.debug({ source, bytes: data.length }, 'dropped data that is not SIP');
      this.parts.transport.shutdown(source);
      return;
    }
    if (parsed.message.kind === 'request') {
      // A request of a dialog we record-routed as a proxy goes on without any app.
      if (!this.parts.proxy.relayRouted(parsed, source)) this.parts.uas.onRequest(parsed, source, data.length);
    } else if (!this.parts.proxy.onResponse(parsed, source, data.length)) this.parts.uac.onResponse(parsed, source, data.length);
  }

  /** `sip|<transaction id>|<dialog id>[|<proxy>]` from an app: a response, a request in a dialog or out of one, or a CANCEL. */
  private onAppSip(link: AppLink, message: WireMessage): void {
    const [transactionId = '', dialogId = '', proxy = ''] = message.args;
    const text = message.sip ?? '';
    if (text.startsWith('SIP/')) {
      if (!transactionId) return link.send(nokResponse(message.id, 'transaction id missing'));
      return this.parts.uas.onAppResponse(link, message.id, transactionId, text);
    }
    const { uac, dialogs } = this.parts;
    if (dialogId) return uac.onAppRequest(link, message.id, transactionId, dialogs.get(dialogId), text);
    if (transactionId && text.startsWith('CANCEL ')) return uac.onAppCancel(link, message.id, transactionId);
    // drachtio-server treats a request naming the Call-ID of an existing dialog as in-dialog.
    const callId = /^(?:call-id|i)[ \t]*:[ \t]*(\S+)/im.exec(text)?.[1];
    const dialog = callId ? dialogs.byCallId(callId) : undefined;
    if (dialog) return uac.onAppRequest(link, message.id, transactionId, dialog, text);
    uac.onAppOutOfDialogRequest(link, message.id, transactionId, proxy, text);
  }
}

