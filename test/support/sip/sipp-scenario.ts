/**
 * Runs one SIPp (Debian `sip-tester`) scenario from test/sip/sipp/ as a single call against
 * a SIP edge, the way a telephony engineer checks a UAS: SIPp fails the call on any
 * unexpected message, a missing one within its timeout, or a header check (`ereg
 * check_it`) that does not match. Loopback only, in a throw-away folder, killed after
 * `timeoutMs`.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SippCall {
  /** File name under test/sip/sipp/. */
  readonly scenario: string;
  readonly target: { readonly host: string; readonly port: number };
  /** The Request-URI's user part: the meeting id. */
  readonly service: string;
  readonly username: string;
  readonly password: string;
  readonly timeoutMs: number;
}

export interface SippCallResult {
  /** 0: the call went as the scenario says. */
  readonly exitCode: number | null;
  /** Every message sent and received (SIPp -trace_msg). */
  readonly messages: string;
  /** What the scenario logged (`<log>` actions, SIPp -trace_logs). */
  readonly logs: string;
  /** Response-time measures (`start_rtd`/`rtd`), name → ms. */
  readonly rtd: Readonly<Record<string, number>>;
  /** SIPp's errors, for a failed call. */
  readonly errors: string;
}

const SCENARIO_DIR = fileURLToPath(new URL('../../sip/sipp/', import.meta.url));

/** A UDP port that was free a moment ago on loopback. */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', resolve);
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

export async function runSippCall(call: SippCall): Promise<SippCallResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-call-'));
  try {
    const [localPort, mediaPort] = [await freeUdpPort(), await freeUdpPort()];
    const args = [
      '-sf', join(SCENARIO_DIR, call.scenario),
      '-i', '127.0.0.1', '-p', String(localPort), '-mi', '127.0.0.1', '-mp', String(mediaPort),
      '-s', call.service, '-au', call.username, '-ap', call.password,
      // The digest URI must be the Request-URI (SIPp's default leaves the user part out).
      '-auth_uri', `${call.service}@${call.target.host}:${call.target.port}`,
      '-m', '1', '-l', '1',
      '-trace_msg', '-trace_logs', '-trace_err', '-trace_rtt', '-rtt_freq', '1',
      '-nostdin',
      `${call.target.host}:${call.target.port}`,
    ];
    const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
    const exitCode = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), call.timeoutMs);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    const read = (suffix: string) => {
      const file = readdirSync(dir).find((name) => name.endsWith(suffix));
      return file ? readFileSync(join(dir, file), 'utf8') : '';
    };
    const rtd: Record<string, number> = {};
    // Date_ms;response_time_ms;rtd_no
    for (const line of read('_rtt.csv').trim().split('\n').slice(1)) {
      const [, ms, name] = line.split(';');
      if (name) rtd[name] = Number(ms);
    }
    return { exitCode, messages: read('_messages.log'), logs: read('_logs.log'), rtd, errors: `${read('_errors.log')}${stderr}`.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
