/**
 * SIPp (Debian package `sip-tester`) driving test/bench/sipp/uac-auth-pcmu.xml at a fixed
 * rate: digest-authenticated calls with PCMU RTP and a BYE, the load a telephony engineer
 * would point at a SIP edge. Runs in a throw-away folder (the scenario's tone file and
 * SIPp's statistics files live there), loopback only, bounded in calls and time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Summary, summarize } from './sample-stats.js';

export const SIPP_SCENARIO = fileURLToPath(new URL('../sipp/uac-auth-pcmu.xml', import.meta.url));

export interface SippRun {
  readonly rate: number;
  readonly calls: number;
  readonly holdMs: number;
  /** Where the calls go (the edge's SIP UDP address) and to whom. */
  readonly target: { host: string; port: number };
  readonly service: string;
  readonly username: string;
  readonly password: string;
  /** SIPp's own SIP and first RTP port (free loopback ports). */
  readonly localPort: number;
  readonly mediaPort: number;
}

export interface SippResult {
  readonly calls: number;
  readonly successful: number;
  readonly failed: number;
  /** Set-ups per second: successful calls over the time they were offered in. */
  readonly achievedCps: number;
  /** INVITE with credentials → 200 OK, per call. */
  readonly setup: Summary;
  /** First INVITE → 401, per call. */
  readonly challenge: Summary;
  /** Requests SIPp had to retransmit (500 ms without an answer). */
  readonly retransmissions: number;
  readonly exitCodes: ReadonlyArray<number | null>;
  /** What SIPp printed on stderr (its first errors), for a failed run. */
  readonly tail: string;
}

/** SIPp's version line, or undefined when it is not installed. */
export function sippVersion(): string | undefined {
  const run = spawnSync('sipp', ['-v'], { encoding: 'utf8' });
  if (run.error) return undefined;
  return /SIPp v\S+/.exec(`${run.stdout}${run.stderr}`)?.[0];
}

/** One second of a 440 Hz tone in G.711 mu-law, what the scenario streams as PT 0. */
function muLawTone(): Buffer {
  const samples = Buffer.alloc(8000);
  for (let i = 0; i < samples.length; i++) samples[i] = linearToMuLaw(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
  return samples;
}

function linearToMuLaw(sample: number): number {
  const BIAS = 0x84;
  const sign = sample < 0 ? 0x80 : 0;
  let magnitude = Math.min(Math.abs(sample), 32635) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  magnitude = 0;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/**
 * Runs one SIPp per meeting in parallel (the digest URI must equal the Request-URI, and
 * SIPp takes one -auth_uri per process) until their calls are done or `timeoutMs` passes
 * (then they are killed and what finished counts); the results are merged.
 */
export async function runSipp(runs: readonly SippRun[], timeoutMs: number): Promise<SippResult> {
  const results = await Promise.all(runs.map((run) => runOne(run, timeoutMs)));
  const calls = results.reduce((sum, r) => sum + r.calls, 0);
  const successful = results.reduce((sum, r) => sum + r.successful, 0);
  const rate = runs.reduce((sum, r) => sum + r.rate, 0);
  // From the first 401 to the last 200 (SIPp's wall clock), or the offering time if longer.
  const firstChallenge = Math.min(...results.map((r) => r.firstChallengeAt));
  const lastSetup = Math.max(...results.map((r) => r.lastSetupAt));
  const offeringMs = Math.max((calls * 1000) / rate, lastSetup - firstChallenge + 1000 / rate);
  return {
    calls,
    successful,
    failed: calls - successful,
    achievedCps: (successful * 1000) / offeringMs,
    setup: summarize(results.flatMap((r) => r.setupMs)),
    challenge: summarize(results.flatMap((r) => r.challengeMs)),
    retransmissions: results.reduce((sum, r) => sum + r.retransmissions, 0),
    exitCodes: results.map((r) => r.exitCode),
    tail: results.map((r) => r.tail).filter(Boolean).join('\n'),
  };
}

interface OneRun {
  readonly calls: number;
  readonly successful: number;
  readonly setupMs: number[];
  readonly challengeMs: number[];
  /** SIPp's Date_ms of the first 401 and of the last 200 it timed. */
  readonly firstChallengeAt: number;
  readonly lastSetupAt: number;
  readonly retransmissions: number;
  readonly exitCode: number | null;
  readonly tail: string;
}

async function runOne(run: SippRun, timeoutMs: number): Promise<OneRun> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-sipp-'));
  try {
    writeFileSync(join(dir, 'tone.pcmu'), muLawTone());
    const args = [
      '-sf', SIPP_SCENARIO,
      '-i', '127.0.0.1', '-p', String(run.localPort),
      '-mi', '127.0.0.1', '-mp', String(run.mediaPort),
      '-s', run.service, '-au', run.username, '-ap', run.password,
      // The digest URI must be the Request-URI (SIPp's default leaves the user part out).
      '-auth_uri', `${run.service}@${run.target.host}:${run.target.port}`,
      '-set', 'hold_ms', String(run.holdMs),
      '-r', String(run.rate), '-m', String(run.calls),
      '-l', String(Math.ceil(run.rate * (run.holdMs / 1000 + 10))),
      '-recv_timeout', '32000',
      '-buff_size', String(4 * 1024 * 1024),
      '-trace_stat', '-fd', '1', '-trace_rtt', '-rtt_freq', '1',
      '-nostdin',
      `${run.target.host}:${run.target.port}`,
    ];
    const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    // SIPp redraws its screen on stdout (the statistics files have what it shows); errors go to stderr.
    child.stdout.resume();
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString('utf8')).slice(-4000)));
    const exitCode = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    return { ...readResults(dir, run), exitCode, tail: errors.replace(/^Resolving remote host.*\n/m, '').trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** SIPp's -trace_stat CSV (last line: cumulative counters) and -trace_rtt CSV (one line per measured response time). */
function readResults(dir: string, run: SippRun): Omit<OneRun, 'exitCode' | 'tail'> {
  const files = readdirSync(dir);
  const statFile = files.find((f) => f.endsWith('.csv') && !f.endsWith('_rtt.csv'));
  const rttFile = files.find((f) => f.endsWith('_rtt.csv'));
  let successful = 0;
  let retransmissions = 0;
  if (statFile) {
    const lines = readFileSync(join(dir, statFile), 'utf8').trim().split('\n');
    const head = lines[0]!.split(';');
    const last = lines.at(-1)!.split(';');
    const column = (name: string) => Number(last[head.indexOf(name)] ?? 0);
    successful = column('SuccessfulCall(C)');
    retransmissions = column('Retransmissions(C)');
  }
  const setupMs: number[] = [];
  const challengeMs: number[] = [];
  let firstChallengeAt = Number.POSITIVE_INFINITY;
  let lastSetupAt = Number.NEGATIVE_INFINITY;
  if (rttFile) {
    for (const line of readFileSync(join(dir, rttFile), 'utf8').trim().split('\n').slice(1)) {
      // Date_ms;response_time_ms;rtd_no
      const [date, ms, rtd] = line.split(';');
      if (rtd === 'setup') {
        setupMs.push(Number(ms));
        lastSetupAt = Math.max(lastSetupAt, Number(date));
      } else if (rtd === 'challenge') {
        challengeMs.push(Number(ms));
        firstChallengeAt = Math.min(firstChallengeAt, Number(date));
      }
    }
  }
  return { calls: run.calls, successful, setupMs, challengeMs, firstChallengeAt, lastSetupAt, retransmissions };
}
