/**
 * The drachtio-server stand-in the gateway runs when DRACHTIO_ADDRESS is unset, in a
 * worker thread of its own: its SIP parsing, transactions and timers stay off the event
 * loop that runs the calls. drachtio-srf connects to it over TCP as to drachtio-server.
 *
 * A stand-in thread that dies (a fatal bug) is logged at error and restarted on the same
 * admin, SIP and TLS ports, as a supervisor restarts a crashed drachtio-server: drachtio-srf
 * reconnects by itself, and the calls from before end through the front end's
 * reconciliation (their dialogs are gone). Until the stand-in is back, /readyz reports SIP
 * down with the reason.
 */
import type { GatewayConfig } from '../config/config.js';
import type { ListenAddress } from '../drachtio-standin/drachtio-standin.js';
import { StandinThread } from '../drachtio-standin/standin-thread.js';
import type { StandinThreadOptions } from '../drachtio-standin/standin-thread-protocol.js';
import type { Logger } from '../logger.js';

/** The first restart's delay; it doubles while restarts fail (a port taken meanwhile), up to the maximum. */
const RESTART_DELAY_MS = 1000;
const RESTART_MAX_DELAY_MS = 30_000;

export class EmbeddedStandin {
  private closed = false;
  private downReason: string | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly sipLog: Logger;

  private constructor(
    private thread: StandinThread,
    /** The first thread's options with its ports as bound, for the restarts. */
    private readonly restartOptions: StandinThreadOptions,
    /** The root logger: the stand-in's lines carry their own component. */
    private readonly log: Logger,
  ) {
    this.sipLog = log.child({ component: 'sip' });
    this.watch(thread);
  }

  static async start(config: GatewayConfig, log: Logger): Promise<EmbeddedStandin> {
    const options: StandinThreadOptions = {
      secret: config.drachtioSecret,
      adminHost: '127.0.0.1',
      adminPort: 0,
      sipHost: config.rtpListenIp,
      sipPort: config.sipPort,
      sipAdvertisedHost: config.announcedIp,
      ...(config.sipTls && { sipTls: { port: config.sipTls.port, cert: config.sipTls.keyPair.cert, key: config.sipTls.keyPair.key } }),
      ...(config.sipTlsPeers.verify && { tlsPeerVerification: config.sipTlsPeers.ca ? { ca: config.sipTlsPeers.ca.pem } : {} }),
    };
    const thread = await StandinThread.start(options, log);
    const restartOptions: StandinThreadOptions = {
      ...options,
      adminPort: thread.adminAddress.port,
      sipPort: thread.sipAddress.port,
      ...(options.sipTls && thread.sipTlsAddress && { sipTls: { ...options.sipTls, port: thread.sipTlsAddress.port } }),
    };
    return new EmbeddedStandin(thread, restartOptions, log);
  }

  /** Where drachtio-srf connects. */
  get adminAddress(): ListenAddress {
    return this.thread.adminAddress;
  }

  get sipAddress(): ListenAddress {
    return this.thread.sipAddress;
  }

  get sipTlsAddress(): ListenAddress | undefined {
    return this.thread.sipTlsAddress;
  }

  /** Test only: the running thread dies at once, as on a fatal bug. */
  crash(): void {
    this.thread.crash();
  }

  /** Undefined while the stand-in runs; otherwise why it does not, for /readyz. */
  problem(): string | undefined {
    return this.downReason && `the embedded drachtio-server stand-in is down (${this.downReason}); restarting it`;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    await this.thread.close();
  }

  private watch(thread: StandinThread): void {
    thread.once('lost', (reason) => {
      this.downReason = `its thread ${reason}`;
      this.sipLog.error({ reason, restartInMs: RESTART_DELAY_MS }, 'the embedded drachtio-server stand-in died; restarting it on the same ports');
      this.scheduleRestart(RESTART_DELAY_MS);
    });
  }

  private scheduleRestart(delayMs: number): void {
    if (this.closed) return;
    this.restartTimer = setTimeout(() => void this.restart(delayMs), delayMs);
    this.restartTimer.unref();
  }

  private async restart(delayMs: number): Promise<void> {
    try {
      const thread = await StandinThread.start(this.restartOptions, this.log);
      if (this.closed) return void (await thread.close());
      this.thread = thread;
      this.downReason = undefined;
      this.watch(thread);
      this.sipLog.info({ admin: thread.adminAddress, sip: thread.sipAddress }, 'the embedded drachtio-server stand-in restarted');
    } catch (err) {
      const nextDelayMs = Math.min(delayMs * 2, RESTART_MAX_DELAY_MS);
      this.downReason = `its restart failed: ${(err as Error).message}`;
      this.sipLog.error({ reason: (err as Error).message, retryInMs: nextDelayMs }, 'the embedded drachtio-server stand-in could not be restarted');
      this.scheduleRestart(nextDelayMs);
    }
  }
}
