/**
 * A real drachtio-server (the binary DRACHTIO_SERVER_BIN names) started for one test file
 * on free loopback ports, from a temporary directory, and stopped with SIGTERM. What it
 * prints is kept in memory and shown when it fails to start.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ChildExit } from '../child-exit.js';

export interface DrachtioServer {
  readonly adminAddress: { host: string; port: number };
  readonly sipAddress: { host: string; port: number };
  /** Its TLS contact, when started with a certificate. */
  readonly sipTlsAddress: { host: string; port: number } | undefined;
  readonly secret: string;
  /** SIGKILL, as a crash: the server drops its dialogs and connections without a word. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

/** The certificate and key files drachtio-server serves SIP over TLS with. */
export interface DrachtioTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** How long a SIGTERMed server may take to exit before it is SIGKILLed. */
const STOP_TIMEOUT_MS = 5000;
const START_TIMEOUT_MS = 10_000;

/**
 * sofia-sip will not listen with TLS without a CA list ("error loading CA list: cafile.pem"):
 * drachtio-server gives it the --chain-file, which for a self-signed certificate is itself.
 */
function chainFile(tls: DrachtioTlsFiles): string[] {
  return ['--chain-file', tls.certFile];
}

/** The binary named by DRACHTIO_SERVER_BIN, when set. */
export function drachtioServerBinary(): string | undefined {
  const binary = process.env.DRACHTIO_SERVER_BIN;
  return binary ? resolve(binary) : undefined;
}

async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, HOST, resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function udpPortIsFree(port: number): Promise<boolean> {
  const socket = createSocket('udp4');
  const bound = await new Promise<boolean>((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind(port, HOST, () => resolve(true));
  });
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return bound;
}

/**
 * A port free for both TCP and UDP (SIP listens on both), other than `taken`: a port just
 * picked and released is free again, and the kernel may hand it out twice in a row.
 */
async function freeSipPort(taken: readonly number[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freeTcpPort();
    if (!taken.includes(port) && (await udpPortIsFree(port))) return port;
  }
  throw new Error('no loopback port free for both TCP and UDP after 20 tries');
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * `ports`: where to listen (a restart on the ports of a killed server); free ones by default.
 * `args`: further command-line options (for example its --blacklist-redis-* options).
 * `tls`: PEM files for a second contact, `sips:<host>:<free port>;transport=tls` (sofia-sip
 * refuses TLS on a `sip:` contact: "Protocol not supported").
 */
export async function startDrachtioServer(
  binary: string,
  secret = 'cymru',
  ports?: { admin: number; sip: number },
  args: readonly string[] = [],
  tls?: DrachtioTlsFiles,
): Promise<DrachtioServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(binary, secret, ports, args, tls);
    } catch (err) {
      // A port found free can be taken before the server binds it (other test files open
      // UDP sockets all the time): sofia-sip then fails to start, and fresh ports are tried.
      if (ports || attempt === START_ATTEMPTS || !(err instanceof PortTakenError)) throw err;
    }
  }
}

const START_ATTEMPTS = 3;

class PortTakenError extends Error {}

async function startOnce(
  binary: string,
  secret: string,
  ports: { admin: number; sip: number } | undefined,
  args: readonly string[],
  tls: DrachtioTlsFiles | undefined,
): Promise<DrachtioServer> {
  const dir = mkdtempSync(join(tmpdir(), 'drachtio-server-'));
  const adminPort = ports?.admin ?? (await freeTcpPort());
  const sipPort = ports?.sip ?? (await freeSipPort([adminPort]));
  let tlsPort = tls && (await freeTcpPort());
  while (tlsPort !== undefined && (tlsPort === adminPort || tlsPort === sipPort)) tlsPort = await freeTcpPort();
  const tlsArgs = tls ? ['--contact', `sips:${HOST}:${tlsPort};transport=tls`, '--cert-file', tls.certFile, '--key-file', tls.keyFile, ...chainFile(tls)] : [];
  // The config file's admin element is required; the command line below overrides it.
  writeFileSync(
    join(dir, 'drachtio.conf.xml'),
    `<drachtio><admin port="${adminPort}" secret="${secret}">${HOST}</admin>` +
      '<logging><console/><sofia-loglevel>0</sofia-loglevel><loglevel>info</loglevel></logging></drachtio>\n',
  );
  let output = '';
  const child = spawn(
    binary,
    ['-f', 'drachtio.conf.xml', '--address', HOST, '--port', String(adminPort), '--secret', secret, '--contact', `sip:${HOST}:${sipPort};transport=udp,tcp`, ...tlsArgs, ...args],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exit = new ChildExit(child);

  const stop = async () => {
    if (exit.code === undefined) child.kill('SIGTERM');
    // A test's clean-up must end: a server still busy after SIGTERM is killed.
    const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exit.done;
    clearTimeout(killer);
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (await accepts(adminPort)) break;
    const failure = exit.code !== undefined ? `exited with ${exit.code}` : Date.now() > deadline ? `did not listen within ${START_TIMEOUT_MS} ms` : undefined;
    if (failure) {
      await stop();
      const message = `drachtio-server ${binary} ${failure}:\n${output.slice(-4000)}`;
      // sofia-sip's words when it cannot bind the SIP contact; drachtio's own when the admin port is taken.
      throw /Error calling nta_agent_create|Address already in use/.test(output) ? new PortTakenError(message) : new Error(message);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    adminAddress: { host: HOST, port: adminPort },
    sipAddress: { host: HOST, port: sipPort },
    sipTlsAddress: tlsPort === undefined ? undefined : { host: HOST, port: tlsPort },
    secret,
    async kill() {
      if (exit.code === undefined) child.kill('SIGKILL');
      await stop();
    },
    stop,
  };
}
