/**
 * The SIP edge as the gateway sees it: a drachtio-srf application connected to
 * drachtio-server (DRACHTIO_ADDRESS), or, when none is configured, to the embedded
 * drachtio-server stand-in started here on SIP_PORT. drachtio-srf reconnects by itself
 * with backoff; the connection state feeds /readyz.
 */
import type { GatewayConfig } from '../config/config.js';
import type { Logger } from '../logger.js';
import { DrachtioStandin } from '../drachtio-standin/drachtio-standin.js';
import { type SrfApp, newSrf, stopConnecting } from './srf.js';

const RECONNECT_MAX_DELAY_MS = 5000;

export class SipFrontEnd {
  private connected = false;

  private constructor(
    readonly srf: SrfApp,
    private readonly standin: DrachtioStandin | undefined,
    log: Logger,
  ) {
    srf.on('connect', (err, hostport) => {
      if (err) return;
      this.connected = true;
      log.info({ hostport }, 'connected to drachtio-server');
    });
    srf.on('close', () => {
      if (this.connected) log.warn('lost drachtio-server; reconnecting');
      this.connected = false;
    });
    srf.on('reconnecting', (attempt) => log.debug({ attempt }, 'reconnecting to drachtio-server'));
    srf.on('error', (err) => log.debug({ reason: err instanceof Error ? err.message : String(err) }, 'drachtio connection error'));
  }

  /** Starts the embedded stand-in if needed and begins connecting; does not wait for the connection. */
  static async start(config: GatewayConfig, log: Logger): Promise<SipFrontEnd> {
    const sipLog = log.child({ component: 'sip' });
    let standin: DrachtioStandin | undefined;
    let address = config.drachtioAddress;
    if (!address) {
      standin = await DrachtioStandin.start({
        secret: config.drachtioSecret,
        adminHost: '127.0.0.1',
        adminPort: 0,
        sipHost: config.rtpListenIp,
        sipPort: config.sipPort,
        sipAdvertisedHost: config.announcedIp,
        log,
      });
      address = standin.adminAddress;
      sipLog.info({ sip: standin.sipAddress }, 'no DRACHTIO_ADDRESS: running the embedded drachtio-server stand-in');
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

  /** Undefined when connected to drachtio-server; otherwise what is down, for /readyz. */
  problem(): string | undefined {
    return this.connected ? undefined : 'not connected to drachtio-server';
  }

  async close(): Promise<void> {
    if (this.connected) this.srf.disconnect();
    else stopConnecting(this.srf);
    this.connected = false;
    await this.standin?.close();
  }
}
