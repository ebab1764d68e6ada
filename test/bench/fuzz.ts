/**
 * Hostile input at volume: the fuzz tests' generators (test/support/fuzz/) run tens of
 * thousands of cases per family. The wire families go to a gateway in a process of its own
 * (`node dist/src/main.js`: embedded drachtio stand-in, one mediasoup worker, memory store), so the
 * bench's generating and judging (and its garbage collections) share neither heap nor event
 * loop with the gateway under test; its per-address SIP limits are lifted as in the tests,
 * but every request still goes through its SIP guard:
 * - sip: generated and mutated SIP messages over UDP and TCP to the SIP edge, each judged
 *   by RFC 3261 (test/support/fuzz/sip-wire.ts), then a probe that must still be answered;
 * - signaling: generated frames over a WebSocket to a meeting;
 * - rest: generated requests to every HTTP route over HTTP.
 * Two families time pure functions, in this process:
 * - sipParser: the same messages through the stand-in's framer, and those a datagram or the
 *   framer can deliver (64 KiB at most) through its parser and request checks;
 * - sdp: generated SDP as an offer (answered or refused 400/488) and as the answer to ours.
 * Per family: cases, crashes (an exception other than the defined refusal, a gateway log
 * line at error, an uncaught exception, every case left once the gateway's process died),
 * unhandledRejections, undefinedAnswers (a case without a defined answer: see the wire
 * runners) and slowestCaseMs. Afterwards a normal call (digest, 200, ACK, BYE) must still
 * work and /readyz answer 200: healthyAfter.
 *
 * Result: ONE JSON line on stdout (`npm run -s bench:fuzz`); progress and the first few
 * problems of each family on stderr.
 * Knobs (environment): BENCH_FUZZ_CASES (10000 per family), BENCH_FUZZ_SEED (4475),
 * BENCH_FUZZ_FAMILIES (comma-separated, default all). Diagnosis of slow cases:
 * BENCH_FUZZ_TRACE_GC=1 runs the gateway with --trace-gc (its lines go to a file named on
 * stderr) and records both processes' garbage collections on the wall clock; every case
 * slower than BENCH_FUZZ_SLOW_MS (50) is listed on stderr with the collections inside it,
 * with the time both main threads waited for a CPU, and the result line gets `gcTrace`.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { checkRequest } from '../../src/drachtio-standin/request-validation.js';
import { parseSipMessage } from '../../src/drachtio-standin/sip-message.js';
import { SipFramingError, SipStreamFramer } from '../../src/drachtio-standin/sip-stream-framer.js';
import { prepareAnswer } from '../../src/media/sdp/answer-offer.js';
import { acceptAnswer, createOffer } from '../../src/media/sdp/late-offer.js';
import { SdpError } from '../../src/media/sdp/sdp-error.js';
import { restRequest } from '../support/fuzz/rest-requests.js';
import { sdpBody } from '../support/fuzz/sdp-bodies.js';
import { signalingFrame } from '../support/fuzz/signaling-frames.js';
import { FUZZ_MEETING, MAX_SIP_MESSAGE_BYTES, type SipFuzzCase, renderSipCase, sipCase } from '../support/fuzz/sip-messages.js';
import { SipWireFuzzer, type WireOutcome } from '../support/fuzz/sip-wire.js';
import { SignalingWireFuzzer, runRestCase } from '../support/fuzz/web-wire.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { SipPeer, isFinalResponse, isResponse } from '../support/sip/sip-peer.js';
import { LIFTED_SIP_LIMITS } from '../support/test-config.js';
import { type GcPause, GcTimeline, observeGc, parseGcLine } from './support/gc-timeline.js';
import { type GatewayProcess, cpuSeconds, processTree, startGatewayProcess } from './support/gateway-process.js';
import { foreignBusyPercent, selfCpuSeconds } from './support/machine-load.js';
import { collectAllGarbage, collectYoungGarbage } from './support/own-gc.js';

const env = process.env;
const CASES = Number(env.BENCH_FUZZ_CASES ?? 10_000);
const SEED = Number(env.BENCH_FUZZ_SEED ?? 4475);
const TRACE_GC = env.BENCH_FUZZ_TRACE_GC === '1';
const SLOW_MS = Number(env.BENCH_FUZZ_SLOW_MS ?? 50);
const FAMILIES = ['sip', 'sipParser', 'sdp', 'signaling', 'rest'] as const;
type Family = (typeof FAMILIES)[number];
const WIRE_FAMILIES: ReadonlySet<Family> = new Set(['sip', 'signaling', 'rest']);
const chosen = (env.BENCH_FUZZ_FAMILIES?.split(',') ?? [...FAMILIES]) as Family[];
/** Cases are generated this many at a time (a seed each), before any of them is timed. */
const CHUNK = 500;
/**
 * The bench collects its own young generation every this many cases, between them: the
 * wire families' harness allocates ~15–95 KB a case (rendering, parsing answers, fetch), so
 * left to itself it would collect every hundred cases or so, inside a timed case.
 */
const COLLECT_EVERY = 20;
const SHOWN_PROBLEMS = 3;
/** Per family, how many slow cases the diagnosis lists on stderr. */
const SHOWN_SLOW_CASES = 20;

const say = (line: string) => process.stderr.write(`${line}\n`);

interface FamilyResult {
  cases: number;
  crashes: number;
  unhandledRejections: number;
  undefinedAnswers: number;
  slowestCaseMs: number;
  /** Cases slower than the 50 ms the issue allows one. */
  casesOver50Ms: number;
  [extra: string]: number;
}

/**
 * What the gateway's process says on stdout and stderr: pino JSON lines (level ≥ 50 is an
 * error: a handler that threw), the fatal line of report-fatal.ts, and in a diagnostic run
 * its garbage collections (report-gc.ts) and --trace-gc lines.
 */
class GatewayOutput {
  errorLines = 0;
  uncaughtExceptions = 0;
  unhandledRejections = 0;
  /** Error and fatal lines not yet shown on stderr. */
  readonly unshown: string[] = [];
  readonly gc = new GcTimeline();
  private readonly traceGcFile = TRACE_GC ? createWriteStream(join(tmpdir(), `bench-fuzz-trace-gc-${process.pid}.log`)) : undefined;

  get traceGcPath(): string | undefined {
    return this.traceGcFile?.path.toString();
  }

  readonly take = (line: string): void => {
    if (!line.startsWith('{')) {
      if (/^\[\d+:0x[0-9a-f]+\]\s/.test(line)) this.traceGcFile?.write(`${line}\n`);
      // Anything else is Node's own report of a fatal error, or a library printing: shown with the errors.
      else if (this.unshown.length < SHOWN_PROBLEMS) this.unshown.push(line.slice(0, 400));
      return;
    }
    const pause = parseGcLine(line);
    if (pause) return this.gc.add(pause);
    let parsed: { level?: number; benchFatal?: string };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      if (this.unshown.length < SHOWN_PROBLEMS) this.unshown.push(line.slice(0, 400));
      return;
    }
    if (parsed.benchFatal !== undefined) {
      if (parsed.benchFatal === 'unhandledRejection') this.unhandledRejections++;
      else this.uncaughtExceptions++;
      say(`[bench:fuzz] the gateway's process: ${parsed.benchFatal}: ${line.slice(0, 600)}`);
      return;
    }
    if ((parsed.level ?? 0) < 50) return;
    this.errorLines++;
    if (this.unshown.length < SHOWN_PROBLEMS) this.unshown.push(line.slice(0, 400));
  };

  close(): void {
    this.traceGcFile?.end();
  }
}

/** The gateway under test, watched for its process ending while cases still run. */
interface GatewayUnderTest {
  readonly process: GatewayProcess;
  readonly output: GatewayOutput;
  /** Resolves with DIED when the process ends before the bench stops it. */
  readonly death: Promise<typeof DIED>;
  /** Set when the process ended before the bench stopped it. */
  exit: { code: number | null; signal: string | null; during: string } | undefined;
  stop(): Promise<void>;
}

const DIED = Symbol('the gateway process died');

let benchRejections = 0;
let benchUncaught = 0;
process.on('unhandledRejection', (reason) => {
  benchRejections++;
  say(`[bench:fuzz] unhandled rejection: ${String(reason).slice(0, 300)}`);
});
process.on('uncaughtException', (err) => {
  benchUncaught++;
  say(`[bench:fuzz] uncaught exception: ${err.stack?.slice(0, 600)}`);
});

/** The bench's own garbage collections, recorded in a diagnostic run. */
const benchGc = new GcTimeline();

/**
 * How long a process's main thread (its event loop) has waited for a CPU, ready to run but
 * not running (the second field of schedstat, in ns): on a shared machine, other work's
 * share of a case's time.
 */
function runQueueWaitMs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return 0;
  }
}

/**
 * In a diagnostic run: each slow case, with the garbage collections of both processes inside
 * it and the time their main threads waited for a CPU.
 */
interface GcDiagnosis {
  cases: number;
  /** Share (%) of all cases' time spent in the gateway's and in the bench's collections. */
  gatewayGcPercentOfCaseTime: number;
  benchGcPercentOfCaseTime: number;
  slowCases: number;
  slowWithGatewayGc: number;
  slowWithBenchGc: number;
  /** Slow cases with neither process collecting garbage for 1 ms or more. */
  slowWithNeitherGc: number;
  /** Slow cases within SLOW_MS without the time the main threads waited for a CPU: other work's doing. */
  slowByWaitingForCpu: number;
  /** Of the others, those within SLOW_MS without the collections inside them. */
  slowByGc: number;
  /** Slow by neither. */
  slowUnexplained: number;
}

class CaseTimes {
  private caseMs = 0;
  private gatewayGcMs = 0;
  private benchGcMs = 0;
  readonly diagnosis: GcDiagnosis = {
    cases: 0,
    gatewayGcPercentOfCaseTime: 0,
    benchGcPercentOfCaseTime: 0,
    slowCases: 0,
    slowWithGatewayGc: 0,
    slowWithBenchGc: 0,
    slowWithNeitherGc: 0,
    slowByWaitingForCpu: 0,
    slowByGc: 0,
    slowUnexplained: 0,
  };
  private readonly slow: { index: number; fromMs: number; toMs: number; ms: number; waitedMs: number }[] = [];
  private readonly all: number[] = [];

  /**
   * A case ran from `fromMs` to `toMs` (epoch, around the whole run of it) and was timed `ms`;
   * the main threads of the bench and the gateway waited `waitedMs` for a CPU meanwhile.
   */
  add(index: number, fromMs: number, toMs: number, ms: number, waitedMs: number): void {
    this.all.push(fromMs, toMs);
    this.caseMs += toMs - fromMs;
    if (ms > SLOW_MS) this.slow.push({ index, fromMs, toMs, ms, waitedMs });
  }

  /** Laid over the collections once the family is done (the gateway reports its collections a little late). */
  judge(family: Family, gatewayGc: GcTimeline | undefined): GcDiagnosis {
    for (let i = 0; i < this.all.length; i += 2) {
      this.gatewayGcMs += gatewayGc?.msWithin(this.all[i]!, this.all[i + 1]!) ?? 0;
      this.benchGcMs += benchGc.msWithin(this.all[i]!, this.all[i + 1]!);
    }
    const d = this.diagnosis;
    d.cases = this.all.length / 2;
    d.gatewayGcPercentOfCaseTime = round((100 * this.gatewayGcMs) / Math.max(1, this.caseMs));
    d.benchGcPercentOfCaseTime = round((100 * this.benchGcMs) / Math.max(1, this.caseMs));
    d.slowCases = this.slow.length;
    for (const [n, slow] of this.slow.entries()) {
      const gateway = gatewayGc?.msWithin(slow.fromMs, slow.toMs) ?? 0;
      const bench = benchGc.msWithin(slow.fromMs, slow.toMs);
      if (gateway >= 1) d.slowWithGatewayGc++;
      if (bench >= 1) d.slowWithBenchGc++;
      if (gateway < 1 && bench < 1) d.slowWithNeitherGc++;
      // A pause the thread spent waiting for a CPU counts as waiting, not as collecting.
      if (slow.ms - slow.waitedMs <= SLOW_MS) d.slowByWaitingForCpu++;
      else if (slow.ms - slow.waitedMs - gateway - bench <= SLOW_MS) d.slowByGc++;
      else d.slowUnexplained++;
      if (n < SHOWN_SLOW_CASES) {
        const pauses = (timeline: GcTimeline | undefined) =>
          (timeline?.pauses ?? [])
            .filter((p) => p.startMs < slow.toMs && p.startMs + p.ms > slow.fromMs)
            .map((p: GcPause) => `${p.kind} ${p.ms.toFixed(1)}`)
            .join(', ') || 'none';
        say(
          `[bench:fuzz] ${family} slow case #${slow.index}: ${slow.ms.toFixed(1)} ms (window ${(slow.toMs - slow.fromMs).toFixed(1)} ms); ` +
            `gateway GC ${gateway.toFixed(1)} ms [${pauses(gatewayGc)}], bench GC ${bench.toFixed(1)} ms [${pauses(benchGc)}], ` +
            `waiting for a CPU ${slow.waitedMs.toFixed(1)} ms`,
        );
      }
    }
    return d;
  }
}

const round = (value: number) => Math.round(value * 100) / 100;

/** Generates `CASES` values of `arbitrary` in chunks and runs each, timing it. */
async function runFamily<T>(
  name: Family,
  arbitrary: fc.Arbitrary<T>,
  run: (value: T) => Promise<WireOutcome | 'unsendable'> | WireOutcome,
  gateway: GatewayUnderTest | undefined,
  times: CaseTimes | undefined,
): Promise<FamilyResult> {
  const result: FamilyResult = { cases: 0, crashes: 0, unhandledRejections: 0, undefinedAnswers: 0, slowestCaseMs: 0, casesOver50Ms: 0 };
  const output = gateway?.output;
  const before = {
    rejections: benchRejections + (output?.unhandledRejections ?? 0),
    crashes: benchUncaught + (output?.uncaughtExceptions ?? 0) + (output?.errorLines ?? 0),
  };
  let unsendable = 0;
  const problems: string[] = [];
  const crash = (problem: string) => {
    result.crashes++;
    result.cases++;
    if (problems.length < SHOWN_PROBLEMS) problems.push(`crash: ${problem.slice(0, 400)}`);
  };
  for (let chunk = 0; result.cases < CASES; chunk++) {
    // The whole chunk is generated, and the generator's garbage collected, before its first case is timed.
    const values = fc.sample(arbitrary, { seed: SEED + chunk, numRuns: Math.min(CHUNK, CASES - result.cases) });
    collectAllGarbage();
    for (const [n, value] of values.entries()) {
      if (n > 0 && n % COLLECT_EVERY === 0) collectYoungGarbage();
      if (gateway?.exit) {
        // A gateway that died answers nothing more: every case left is a crash, none a pass.
        const left = CASES - result.cases;
        result.crashes += left;
        result.cases += left;
        if (problems.length < SHOWN_PROBLEMS) problems.push(`${left} cases left when the gateway's process had exited`);
        break;
      }
      let outcome: WireOutcome | 'unsendable' | typeof DIED;
      const waitedBefore = times ? waitedForCpu(gateway) : 0;
      const fromMs = performance.timeOrigin + performance.now();
      try {
        outcome = gateway ? await Promise.race([run(value), gateway.death]) : await run(value);
      } catch (err) {
        crash((err as Error).stack ?? String(err));
        continue;
      }
      if (outcome === DIED) {
        crash(`the gateway's process exited during this case (${gateway?.exit?.code ?? gateway?.exit?.signal})`);
        continue;
      }
      if (outcome === 'unsendable') {
        unsendable++;
        continue;
      }
      times?.add(result.cases, fromMs, performance.timeOrigin + performance.now(), outcome.ms, waitedForCpu(gateway) - waitedBefore);
      result.cases++;
      result.slowestCaseMs = Math.max(result.slowestCaseMs, outcome.ms);
      if (outcome.ms > 50) result.casesOver50Ms++;
      if (outcome.problem !== undefined) {
        result.undefinedAnswers++;
        if (problems.length < SHOWN_PROBLEMS) problems.push(outcome.problem.slice(0, 400));
      }
    }
    say(`[bench:fuzz] ${name}: ${result.cases}/${CASES} cases, ${result.undefinedAnswers} undefined answers, ${result.crashes} crashes`);
  }
  if (gateway) await settle(gateway);
  result.crashes += benchUncaught + (output?.uncaughtExceptions ?? 0) + (output?.errorLines ?? 0) - before.crashes;
  result.unhandledRejections = benchRejections + (output?.unhandledRejections ?? 0) - before.rejections;
  result.slowestCaseMs = round(result.slowestCaseMs);
  if (unsendable > 0) result.unsendable = unsendable;
  for (const problem of [...problems, ...(output?.unshown.splice(0) ?? [])]) say(`[bench:fuzz] ${name} problem: ${problem}`);
  return result;
}

/** The bench's and (for a wire family) the gateway's main thread: ms waited for a CPU so far. */
const waitedForCpu = (gateway: GatewayUnderTest | undefined) => runQueueWaitMs(process.pid) + (gateway ? runQueueWaitMs(gateway.process.pid) : 0);

/**
 * Lets what the gateway wrote during the family's last cases arrive: its log lines are
 * written before it answers, but they come over another pipe than the answers.
 */
async function settle(gateway: GatewayUnderTest): Promise<void> {
  if (gateway.exit) return;
  await fetch(`${gateway.process.httpUrl}/readyz`).catch(() => undefined);
  await sleep(TRACE_GC ? 500 : 100);
}

const timedSync = (run: () => void): WireOutcome => {
  const started = performance.now();
  run();
  return { problem: undefined, ms: performance.now() - started };
};

/** The stand-in's reading of one message, as it meets it over UDP and over TCP; only its own refusals may be thrown. */
function readSip(value: SipFuzzCase): WireOutcome {
  return timedSync(() => {
    const bytes = renderSipCase(value, { transport: 'udp', hostport: '127.0.0.1:25110', target: '127.0.0.1:5060', id: 'bench' });
    // Neither a datagram nor the TCP framer hands the parser more than 64 KiB.
    const parsed = bytes.length <= MAX_SIP_MESSAGE_BYTES ? parseSipMessage(bytes) : undefined;
    if (parsed?.message.kind === 'request') checkRequest(parsed, { transport: 'udp', address: '127.0.0.1', port: 25110 });
    try {
      new SipStreamFramer().push(bytes);
    } catch (err) {
      if (!(err instanceof SipFramingError)) throw err;
    }
  });
}

function answerSdp(offer: ReturnType<typeof createOffer>, sdp: string): WireOutcome {
  return timedSync(() => {
    for (const use of [() => prepareAnswer(sdp, { ip: '203.0.113.7' }).answer(40000), () => acceptAnswer(offer, sdp)]) {
      try {
        use();
      } catch (err) {
        if (!(err instanceof SdpError) || ![400, 488].includes(err.sipStatus)) throw err;
      }
    }
  });
}

/** POSTs to the gateway's REST API (open on loopback without API_TOKEN); the JSON answer. */
async function post<T>(httpUrl: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (response.status !== 201) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** A call as a phone makes it: challenged, answered with credentials, ACKed and hung up; then /readyz. */
async function normalCall(gateway: GatewayUnderTest, sip: { host: string; port: number }, identity: { username: string; password: string }): Promise<boolean> {
  if (gateway.exit) {
    say("[bench:fuzz] no normal call after the fuzz: the gateway's process has exited");
    return false;
  }
  const peer = await SipPeer.udp(sip);
  try {
    const caller = new SipCaller(peer, `sip:healthy-room@${sip.host}:${sip.port}`);
    caller.invite({ body: PCMU_OFFER(40000) });
    const challenge = await peer.next(isResponse(401));
    caller.ackFailure(challenge);
    caller.invite({ body: PCMU_OFFER(40000), authorization: caller.authorization(challenge, identity) });
    const answer = await peer.next(isFinalResponse);
    if (!answer.text.startsWith('SIP/2.0 200 ')) return false;
    caller.inDialog(answer, 'ACK');
    caller.inDialog(answer, 'BYE');
    await peer.next(isResponse(200, 'BYE'));
    return (await fetch(`${gateway.process.httpUrl}/readyz`)).status === 200;
  } catch (err) {
    say(`[bench:fuzz] the normal call after the fuzz failed: ${(err as Error).message}`);
    return false;
  } finally {
    await peer.close();
  }
}

/** The gateway's process, its mediasoup worker included: CPU seconds so far. */
const gatewayCpuSeconds = (pid: number) => processTree(pid).reduce((sum, p) => sum + cpuSeconds(p), 0);

async function startGateway(): Promise<GatewayUnderTest> {
  const output = new GatewayOutput();
  const child = await startGatewayProcess(
    {
      LOG_LEVEL: 'warn',
      MAX_PARTICIPANTS: '1000',
      TWILIO_AUTH_TOKEN: 'twilio-token-0123456789',
      // Through the SIP guard like any source (benchGatewayEnv trusts loopback), with the per-address limits lifted.
      SIP_TRUSTED_SOURCES: '',
      ...LIFTED_SIP_LIMITS,
    },
    output.take,
    TRACE_GC ? ['--trace-gc'] : [],
    ['test/bench/support/report-fatal.ts', ...(TRACE_GC ? ['test/bench/support/report-gc.ts'] : [])],
    'built',
  );
  let stopping = false;
  const gateway: GatewayUnderTest = {
    process: child,
    output,
    exit: undefined,
    death: child.exited.then(({ code, signal }) => {
      if (stopping) return new Promise<never>(() => undefined);
      gateway.exit = { code, signal, during: currentFamily };
      say(`[bench:fuzz] the gateway's process exited (code ${code}, signal ${signal}) during ${currentFamily}; its last lines:\n${child.recentOutput.slice(-10).join('\n')}`);
      return DIED;
    }),
    stop: async () => {
      stopping = true;
      await child.stop();
      output.close();
    },
  };
  return gateway;
}

let currentFamily = 'start-up';

async function main(): Promise<void> {
  if (TRACE_GC) observeGc((pause) => benchGc.add(pause));
  const gateway = await startGateway();
  const { httpUrl } = gateway.process;
  const sip = { host: '127.0.0.1', port: gateway.process.sipPort };
  const gatewayPid = gateway.process.pid;
  const loadAtStart = loadavg().map((l) => Number(l.toFixed(2)));
  const families: Partial<Record<Family, FamilyResult>> = {};
  const gcTrace: Partial<Record<Family, GcDiagnosis>> = {};
  let healthyAfter = false;
  let foreignBusy = 0;
  let cpuAtStart = { bench: 0, gateway: 0 };
  const cpuUsed = { bench: 0, gateway: 0 };
  let wallAtStart = performance.now();
  try {
    await post(httpUrl, '/api/meetings', { id: FUZZ_MEETING });
    await post(httpUrl, '/api/meetings', { id: 'healthy-room' });
    const identity = await post<{ username: string; password: string }>(httpUrl, '/api/sip-credentials', {});
    say(`[bench:fuzz] gateway in its own process (pid ${gatewayPid}) at ${httpUrl}, SIP on ${sip.host}:${sip.port}; ${CASES} cases per family, seed ${SEED}`);
    if (gateway.output.traceGcPath) say(`[bench:fuzz] the gateway's --trace-gc lines go to ${gateway.output.traceGcPath}`);
    // Other work on the machine, sampled for a second before the run (the bench and its gateway are idle then).
    foreignBusy = await foreignBusyPercent(1000, () => selfCpuSeconds() + gatewayCpuSeconds(gatewayPid));
    cpuAtStart = { bench: selfCpuSeconds(), gateway: gatewayCpuSeconds(gatewayPid) };
    wallAtStart = performance.now();

    for (const family of chosen) {
      currentFamily = family;
      const wire = WIRE_FAMILIES.has(family) ? gateway : undefined;
      const times = TRACE_GC ? new CaseTimes() : undefined;
      if (family === 'sip') {
        const fuzzer = await SipWireFuzzer.open(sip);
        try {
          families.sip = await runFamily('sip', sipCase, (value) => fuzzer.run(value), wire, times);
          families.sip.answered = fuzzer.tally.answered;
          families.sip.silent = fuzzer.tally.silent;
        } finally {
          await fuzzer.close();
        }
      } else if (family === 'sipParser') {
        families.sipParser = await runFamily('sipParser', sipCase, readSip, wire, times);
      } else if (family === 'sdp') {
        const offer = createOffer({ ip: '203.0.113.7', port: 40000 });
        families.sdp = await runFamily('sdp', sdpBody, (sdp) => answerSdp(offer, sdp), wire, times);
      } else if (family === 'signaling') {
        const fuzzer = new SignalingWireFuzzer(`${httpUrl.replace('http', 'ws')}/ws/meetings/${FUZZ_MEETING}`);
        try {
          families.signaling = await runFamily('signaling', signalingFrame, (frame) => fuzzer.run(frame), wire, times);
        } finally {
          await fuzzer.close();
        }
      } else {
        families.rest = await runFamily('rest', restRequest, (request) => runRestCase(httpUrl, request), wire, times);
      }
      if (times) gcTrace[family] = times.judge(family, wire?.output.gc);
      // Read while it runs: a process that died has no CPU time left to read.
      if (!gateway.exit) cpuUsed.gateway = gatewayCpuSeconds(gatewayPid) - cpuAtStart.gateway;
    }
    currentFamily = 'the normal call afterwards';
    healthyAfter = await normalCall(gateway, sip, identity);
    cpuUsed.bench = selfCpuSeconds() - cpuAtStart.bench;
    if (!gateway.exit) cpuUsed.gateway = gatewayCpuSeconds(gatewayPid) - cpuAtStart.gateway;
  } finally {
    await gateway.stop();
  }
  const seconds = (performance.now() - wallAtStart) / 1000;
  const gcSummary = (timeline: GcTimeline) => ({
    pauses: timeline.pauses.length,
    majorPauses: timeline.pauses.filter((p) => p.kind === 'major').length,
    longestMs: round(Math.max(0, ...timeline.pauses.map((p) => p.ms))),
    totalMs: Math.round(timeline.pauses.reduce((sum, p) => sum + p.ms, 0)),
  });
  process.stdout.write(
    `${JSON.stringify({
      seed: SEED,
      casesPerFamily: CASES,
      gateway: 'child process',
      families,
      healthyAfter,
      ...(gateway.exit ? { gatewayExited: gateway.exit } : {}),
      seconds: Math.round(seconds),
      ...(TRACE_GC ? { gcTrace: { slowMs: SLOW_MS, families: gcTrace, gateway: gcSummary(gateway.output.gc), bench: gcSummary(benchGc) } } : {}),
      machine: {
        cores: cpus().length,
        loadAvgAtStart: loadAtStart,
        loadAvgAtEnd: loadavg().map((l) => Number(l.toFixed(2))),
        otherWorkPercentBefore: Math.round(foreignBusy),
        benchCpuPercent: Math.round((100 * cpuUsed.bench) / seconds),
        gatewayCpuPercent: Math.round((100 * cpuUsed.gateway) / seconds),
      },
    })}\n`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    say(`[bench:fuzz] failed: ${(err as Error).stack}`);
    process.exit(1);
  },
);
