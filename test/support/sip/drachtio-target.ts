/**
 * Which drachtio-server SIP tests talk to:
 * - DRACHTIO_SERVER_BIN set: a real drachtio-server of that binary, started for the caller
 *   on free ports and stopped by close() (one per test file, never shared);
 * - TEST_DRACHTIO_ADDRESS, TEST_DRACHTIO_SECRET and TEST_SIP_ADDRESS (host:port each) set:
 *   a real one somebody else runs;
 * - otherwise a drachtio stand-in started in-process on ephemeral ports.
 */
import { DrachtioStandin, type DrachtioStandinOptions } from '../../../src/drachtio-standin/drachtio-standin.js';
import { type DrachtioTlsFiles, drachtioServerBinary, startDrachtioServer } from './drachtio-server.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface DrachtioTarget {
  readonly adminAddress: HostPort;
  readonly secret: string;
  readonly sipAddress: HostPort;
  /** Where SIP over TLS is received, when the target was asked for it and serves it. */
  readonly sipTlsAddress?: HostPort;
  /** The in-process stand-in, when that is the target. */
  readonly standin: DrachtioStandin | undefined;
  close(): Promise<void>;
}

function parseHostPort(name: string, value: string): HostPort {
  const match = /^(.+):(\d+)$/.exec(value.trim());
  if (!match) throw new Error(`${name} must be host:port, got "${value}"`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

/** True when the environment points the SIP tests at a real drachtio-server. */
export function usingRealDrachtio(): boolean {
  return Boolean(drachtioServerBinary() || process.env.TEST_DRACHTIO_ADDRESS);
}

/**
 * The target for a test. `standinOptions` only apply to the stand-in (a real server is
 * configured by whoever runs it). `tls`: SIP over TLS with these PEM files too, on the
 * stand-in and on a drachtio-server this starts (a server somebody else runs has no TLS here).
 */
export async function drachtioTarget(standinOptions: Partial<DrachtioStandinOptions> = {}, tls?: TargetTls): Promise<DrachtioTarget> {
  const binary = drachtioServerBinary();
  if (binary) {
    const server = await startDrachtioServer(binary, undefined, undefined, [], tls);
    return {
      adminAddress: server.adminAddress,
      secret: server.secret,
      sipAddress: server.sipAddress,
      ...(server.sipTlsAddress && { sipTlsAddress: server.sipTlsAddress }),
      standin: undefined,
      close: () => server.stop(),
    };
  }
  const address = process.env.TEST_DRACHTIO_ADDRESS;
  if (address) {
    const secret = process.env.TEST_DRACHTIO_SECRET;
    const sip = process.env.TEST_SIP_ADDRESS;
    if (!secret || !sip) throw new Error('TEST_DRACHTIO_ADDRESS needs TEST_DRACHTIO_SECRET and TEST_SIP_ADDRESS too');
    return {
      adminAddress: parseHostPort('TEST_DRACHTIO_ADDRESS', address),
      secret,
      sipAddress: parseHostPort('TEST_SIP_ADDRESS', sip),
      standin: undefined,
      close: async () => undefined,
    };
  }
  return startStandin(tls ? { sipTls: { port: 0, cert: tls.cert, key: tls.key }, ...standinOptions } : standinOptions);
}

/** A certificate and key, as files (for drachtio-server) and as PEM text (for the stand-in). */
export interface TargetTls extends DrachtioTlsFiles {
  readonly cert: string;
  readonly key: string;
}

/** Always the stand-in: for tests that need its clock or options, whatever the environment says. */
export async function startStandin(options: Partial<DrachtioStandinOptions> = {}): Promise<DrachtioTarget> {
  const secret = options.secret ?? 'cymru';
  const standin = await DrachtioStandin.start({ adminPort: 0, sipPort: 0, ...options, secret });
  return {
    adminAddress: standin.adminAddress,
    secret,
    sipAddress: standin.sipAddress,
    ...(standin.sipTlsAddress && { sipTlsAddress: standin.sipTlsAddress }),
    standin,
    close: () => standin.close(),
  };
}

/** A drachtio target a test can crash and start again on the same ports. */
export interface RestartableDrachtio extends DrachtioTarget {
  /** Gone at once: a real drachtio-server is SIGKILLed, the stand-in closed (its dialogs die with it either way). */
  kill(): Promise<void>;
  /** Started again on the same admin and SIP ports, knowing no dialog from before. */
  restart(): Promise<void>;
}

/** The real drachtio-server when DRACHTIO_SERVER_BIN is set, else the stand-in; never a shared one. */
export async function restartableDrachtio(): Promise<RestartableDrachtio> {
  const binary = drachtioServerBinary();
  const secret = 'cymru';
  if (binary) {
    let server = await startDrachtioServer(binary, secret);
    const ports = { admin: server.adminAddress.port, sip: server.sipAddress.port };
    let running = true;
    return {
      adminAddress: server.adminAddress,
      sipAddress: server.sipAddress,
      secret,
      standin: undefined,
      async kill() {
        running = false;
        await server.kill();
      },
      async restart() {
        server = await startDrachtioServer(binary, secret, ports);
        running = true;
      },
      close: async () => {
        if (running) await server.stop();
      },
    };
  }
  let standin: DrachtioStandin | undefined = await DrachtioStandin.start({ adminPort: 0, sipPort: 0, secret });
  const ports = { adminPort: standin.adminAddress.port, sipPort: standin.sipAddress.port };
  const target: RestartableDrachtio = {
    adminAddress: standin.adminAddress,
    sipAddress: standin.sipAddress,
    secret,
    get standin() {
      return standin;
    },
    async kill() {
      await standin?.close();
      standin = undefined;
    },
    async restart() {
      standin = await DrachtioStandin.start({ ...ports, secret });
    },
    close: async () => {
      await standin?.close();
      standin = undefined;
    },
  };
  return target;
}
