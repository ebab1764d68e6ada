/**
 * Call set-ups per second with digest authentication, and how long a set-up takes, through
 * each SIP edge: the embedded drachtio stand-in (what `npm start` runs on its defaults) and
 * the real drachtio-server when its binary is there (DRACHTIO_SERVER_BIN, else
 * ../shared/drachtio-server/drachtio from the project root). Per edge the gateway runs as a
 * child process (one mediasoup worker) and is driven twice:
 *
 * 1. By the bench's own client. Calls are offered open-loop at increasing rates; each call
 *    is INVITE → 401 → ACK → INVITE + Authorization → 200 → ACK, and BYE `BENCH_HOLD_MS`
 *    later. Set-up latency is from sending the INVITE with credentials to receiving its
 *    200 OK; the full time from the first INVITE to the 200 is reported on stderr as well.
 *    cps is the achieved set-up rate of the highest step the gateway kept up with (every
 *    call answered, no retransmission, answers as fast as offers) with p99 < 20 ms; when no
 *    step has p99 < 20 ms, of the highest step it kept up with (said on stderr). p50/p99
 *    are that step's; failures counts every failed call of the run, warm-up included.
 *    Then, from the best steps down, the highest rate that holds the bar (every call
 *    answered, none refused, p99 < 20 ms, answered as fast as offered) for
 *    BENCH_SUSTAIN_SECONDS: `sustainedCps`. Then an overload step at twice that rate for
 *    as long, where a 503 (call admission shedding load) is an expected outcome: a refused
 *    caller does not come back within the step (it honours Retry-After by staying away).
 *    `goodputAtOverload` is the set-ups per second answered during it, `goodputRatio` that
 *    over `sustainedCps` (target >= 0.9), with the 503s, the Retry-After values seen,
 *    the INVITE retransmissions (a storm would show here) and the failures other than 503.
 * 2. By SIPp (Debian package sip-tester; skipped with a note when it is missing) playing
 *    test/bench/sipp/uac-auth-pcmu.xml: the same call with PCMU RTP while held, at each of
 *    BENCH_SIPP_RATES until a step fails a call or drops a datagram on the edge's socket.
 *
 * During each run the kernel's UDP receive-buffer drops are read: on the edge's SIP socket
 * (/proc/net/udp) and machine-wide (/proc/net/snmp Udp RcvbufErrors, other processes too).
 *
 * The result (last stdout line), one object per edge:
 *   {"cps":N,"setupP50Ms":A,"setupP99Ms":B,"failures":F,            (the first edge's client, as before)
 *    "sustainedCps":S,"sustainedMet":bool,"goodputAtOverload":G,    (the first edge's client)
 *    "edges":{"drachtio-standin":{"client":{cps,setupP50Ms,setupP99Ms,failures,sipSocketDrops,rcvbufErrors,
 *                                           cpuPerCallMs:{node,mainThread,worker} (the reported step's CPU per answered call, held and hung up),
 *                                           sustainedCps,sustainedMet,goodputAtOverload,goodputRatio,
 *                                           sustained:{offeredCps,seconds,achievedCps,setupP50Ms,setupP99Ms,failures,shed503,retransmissions,met,tries},
 *                                           overload:{offeredCps,seconds,calls,answered,goodputAtOverload,shed503,retryAfterSeconds:{min,max},
 *                                                     retransmissions,failures (other than 503),setupP50Ms,setupP99Ms,goodputRatio}},
 *                                 "sipp":{version,maxCleanCps,maxKeptUpCps,steps:[{offeredCps,achievedCps,failures,setupP50Ms,
 *                                         setupP99Ms,retransmissions,sipSocketDrops,sippSocketDrops,rcvbufErrors,…}]}},
 *             "drachtio-server":{…}}}
 *
 * Knobs (environment): BENCH_EDGES (drachtio-standin,drachtio-server; default: both when the
 * binary is there), BENCH_CLIENT (0 skips the own client), BENCH_STEPS (cps list, default
 * 50,100,150,200,300,400), BENCH_STEP_SECONDS (3), BENCH_HOLD_MS (1500), BENCH_WARMUP_CALLS
 * (100, at 25 cps, not ranked), BENCH_MEETINGS (50; 1 = one big meeting), BENCH_SOCKETS (8
 * local UDP sockets), BENCH_HELD_CALLS (200: afterwards, what that many established, silent
 * calls cost the gateway per second; 0 skips it), BENCH_CPU_PROFILE (the gateway runs with
 * the inspector, and when a target is missed the reported step is repeated, not ranked, with
 * the gateway's main thread profiled and its top self-time functions printed; the
 * .cpuprofile files are kept for DevTools; 1 profiles every step, 0 never),
 * BENCH_SUSTAIN_SECONDS (60; 0 skips the sustained and overload steps), BENCH_SUSTAIN_CPS (the
 * rate to sustain first; default: the rate steps that met the bar, highest first), BENCH_SUSTAIN_TRIES
 * (3: sustained windows tried at most, each at the next lower candidate, else 3/4 of the last),
 * BENCH_STALLS (1: the sustained and overload windows are profiled and each hold of the
 * gateway's event loop of 40 ms or more is printed with what ran in it; the gateway runs with
 * --trace-gc, its output kept in a file named on stderr; the profiled repeat is skipped),
 * BENCH_GATEWAY_NODE_ARGS (Node options for the gateway's process, space-separated, e.g.
 * --max-semi-space-size=64),
 * BENCH_SIPP_RATES (25,50,75,100; empty skips SIPp), BENCH_SIPP_SECONDS (10 per step),
 * BENCH_SIPP_MEETINGS (5, one SIPp process each: SIPp takes one digest URI per process),
 * BENCH_SIPP_HOLD_MS (1000), BENCH_QUIET_WAIT_S (180: how long each run waits at most for the
 * rest of the machine to go quiet before it runs anyway, saying so).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PCMU_OFFER } from '../support/sip/sip-caller.js';
import { type ChildGateway, REPO_ROOT } from './support/child-gateway.js';
import { type BusyStretch, busyStretches, type CpuProfile, formatBusyStretches, formatProfile, summarizeProfile } from './support/cpu-profile-summary.js';
import { InspectorProfiler } from './support/inspector-profiler.js';
import { RtpSink } from './support/rtp-sink.js';
import { machineCpu, selfCpuSeconds, waitForQuietMachine } from './support/machine-load.js';
import { formatSummary, ms2, summarize, type Summary } from './support/sample-stats.js';
import { CallFailed, type DialedCall, SipDialer } from './support/sip-dialer.js';
import { drachtioServerBin, type Edge, type EdgeName, startEdge } from './support/edges.js';
import { freeSipPort } from './support/gateway-process.js';
import { runSipp, type SippRun, sippVersion } from './support/sipp.js';
import { udpPortDrops, udpRcvbufErrors } from './support/udp-drops.js';

const env = process.env;
const STEPS = (env.BENCH_STEPS ?? '50,100,150,200,300,400').split(',').map(Number);
const STEP_SECONDS = Number(env.BENCH_STEP_SECONDS ?? 3);
const HOLD_MS = Number(env.BENCH_HOLD_MS ?? 1500);
const MEETINGS = Number(env.BENCH_MEETINGS ?? 50);
const SOCKETS = Number(env.BENCH_SOCKETS ?? 8);
/** '1': profile every step; '0': never; otherwise, when a target is missed, one extra profiled step. */
const PROFILE_MODE = env.BENCH_CPU_PROFILE ?? 'auto';
const PROFILE = PROFILE_MODE !== '0';
const PROFILE_EVERY_STEP = PROFILE_MODE === '1';
/** '1': the sustained and overload windows are profiled and their event-loop holds printed; the gateway runs with --trace-gc into a log file. */
const STALLS = env.BENCH_STALLS === '1';
/** Node options for the gateway's process (space-separated), e.g. V8 heap flags to compare. */
const GATEWAY_NODE_ARGS = (env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** The shortest hold of the event loop BENCH_STALLS reports. */
const STALL_MIN_MS = 40;
const WARMUP_CALLS = Number(env.BENCH_WARMUP_CALLS ?? 100);
const WARMUP_CPS = 25;
const HELD_CALLS = Number(env.BENCH_HELD_CALLS ?? 200);
const P99_TARGET_MS = 20;
const CPS_TARGET = 200;
/** A call that has not been answered after this long counts as failed. */
const CALL_TIMEOUT_MS = 8000;
const SUSTAIN_SECONDS = Number(env.BENCH_SUSTAIN_SECONDS ?? 60);
const SUSTAIN_CPS = env.BENCH_SUSTAIN_CPS ? Number(env.BENCH_SUSTAIN_CPS) : undefined;
const SUSTAIN_TRIES = Number(env.BENCH_SUSTAIN_TRIES ?? 3);
const OVERLOAD_FACTOR = 2;
const GOODPUT_RATIO_TARGET = 0.9;
const SERVICE_UNAVAILABLE = 503;

const EDGES = env.BENCH_EDGES ? (env.BENCH_EDGES.split(',') as EdgeName[]) : undefined;
/** '0' skips the bench's own client (SIPp only). */
const CLIENT = env.BENCH_CLIENT !== '0';
const SIPP_RATES = (env.BENCH_SIPP_RATES ?? '25,50,75,100').split(',').filter(Boolean).map(Number);
const SIPP_SECONDS = Number(env.BENCH_SIPP_SECONDS ?? 10);
const SIPP_MEETINGS = Number(env.BENCH_SIPP_MEETINGS ?? 5);
const SIPP_HOLD_MS = Number(env.BENCH_SIPP_HOLD_MS ?? 1000);
/** SIPp's RTP ports: one block of 2000 per SIPp process, below the gateway's RTP range. */
const SIPP_MEDIA_PORT_BASE = 20_000;

/** How long each run waits at most for the rest of the machine to go quiet (s). */
const QUIET_WAIT_MS = Number(env.BENCH_QUIET_WAIT_S ?? 180) * 1000;

const say = (line: string) => process.stderr.write(`${line}\n`);

interface StepResult {
  readonly offeredCps: number;
  readonly calls: number;
  readonly answered: number;
  /** Every call not answered 200, 503s included. */
  readonly failures: number;
  /** Calls refused 503 (shedding load): expected in the overload step, a failure anywhere else. */
  readonly shed503: number;
  /** The Retry-After values of those 503s (seconds). */
  readonly retryAfterSeconds: number[];
  readonly failureReasons: Map<string, number>;
  readonly achievedCps: number;
  readonly setup: Summary;
  readonly full: Summary;
  readonly challenge: Summary;
  /** INVITE retransmissions of every call, answered or not. */
  readonly retransmissions: number;
  readonly maxLaunchLagMs: number;
  readonly maxConcurrent: number;
  readonly byeFailures: number;
  /**
   * While offering (percent of one core), and per answered call over the whole step, its
   * hang-ups included: the Node process, its main thread alone (SIP, signalling, mediasoup
   * control: the set-up's own cost), the mediasoup worker.
   */
  readonly cpu: { gatewayPercent: number; workerPercent: number; perCallMs: { node: number; mainThread: number; worker: number } };
  readonly mixer: unknown;
  /** Set-up latency by when the call was offered, in 500 ms buckets: [p50, max]. */
  readonly timeline: Array<[number, number]>;
  /** How late this benchmark launched its calls, the most in each of those buckets (ms): a stall of its own, not the gateway's. */
  readonly launchLagTimeline: number[];
  readonly benchCpuPercent: number;
  /** CPU (percent of a core) the rest of the machine used meanwhile: other work competing with the run. */
  readonly foreignCpuPercent: number;
}

interface Meeting {
  readonly id: string;
  readonly identity: { username: string; password: string };
}

/** What one edge measured: the own client's result and SIPp's steps. */
interface EdgeResult {
  readonly client: ClientResult | undefined;
  readonly sipp: SippSummary | undefined;
}

interface ClientResult {
  readonly cps: number;
  readonly setupP50Ms: number;
  readonly setupP99Ms: number;
  readonly failures: number;
  /** Datagrams the kernel dropped on the edge's SIP socket (its port) during the client's run. */
  readonly sipSocketDrops: number;
  /** Udp RcvbufErrors of the whole machine during the run (other processes' sockets included). */
  readonly rcvbufErrors: number;
  /** The reported step's CPU per answered call (ms): gateway Node process, its main thread, mediasoup worker. */
  readonly cpuPerCallMs: { node: number; mainThread: number; worker: number };
  /** Achieved set-ups/s of the sustained window (the one that met the bar, else the last tried); absent when skipped. */
  readonly sustainedCps?: number;
  /** Whether that window met the bar (every call answered, p99 < 20 ms, kept up). */
  readonly sustainedMet?: boolean;
  readonly goodputAtOverload?: number;
  readonly goodputRatio?: number;
  readonly sustained?: SustainedResult;
  readonly overload?: OverloadResult;
}

interface SustainedResult {
  readonly offeredCps: number;
  readonly seconds: number;
  readonly achievedCps: number;
  readonly setupP50Ms: number;
  readonly setupP99Ms: number;
  readonly failures: number;
  readonly shed503: number;
  readonly retransmissions: number;
  readonly met: boolean;
  /** Every window tried, highest rate first: [offered, achieved, p99 ms, failures]. */
  readonly tries: Array<[number, number, number, number]>;
}

interface OverloadResult {
  readonly offeredCps: number;
  readonly seconds: number;
  readonly calls: number;
  readonly answered: number;
  /** Answered set-ups per second during the step. */
  readonly goodputAtOverload: number;
  readonly shed503: number;
  readonly retryAfterSeconds: { min: number; max: number } | null;
  /** INVITE retransmissions of every call in the step (a retransmission storm shows here). */
  readonly retransmissions: number;
  /** Failed calls other than 503. */
  readonly failures: number;
  readonly setupP50Ms: number;
  readonly setupP99Ms: number;
  readonly goodputRatio: number;
}

async function main(): Promise<void> {
  const edges = EDGES ?? (['drachtio-standin', ...(drachtioServerBin() ? ['drachtio-server' as const] : [])] as EdgeName[]);
  if (!EDGES && !drachtioServerBin()) say('[bench:setup] no drachtio-server binary (DRACHTIO_SERVER_BIN or ../shared/drachtio-server/drachtio): the stand-in only');
  const sipp = SIPP_RATES.length > 0 ? sippVersion() : undefined;
  if (SIPP_RATES.length > 0 && !sipp) say('[bench:setup] SIPp is not installed (Debian package sip-tester): no SIPp runs');
  const results: Partial<Record<EdgeName, EdgeResult>> = {};
  for (const name of edges) {
    await waitForQuietMachine(say, { maxWaitMs: QUIET_WAIT_MS });
    say(`[bench:setup] ===== edge: ${name} =====`);
    const gatewayLog = STALLS ? join(mkdtempSync(join(tmpdir(), 'bench-setup-gateway-')), `${name}.log`) : undefined;
    const nodeArgs = [...GATEWAY_NODE_ARGS, ...(gatewayLog ? ['--trace-gc'] : [])];
    const edge = await startEdge(name, { inspect: (PROFILE || STALLS) && CLIENT, nodeArgs, ...(gatewayLog && { logFile: gatewayLog }) });
    try {
      say(`[bench:setup] gateway ready at ${edge.gateway.httpUrl} (pid ${edge.gateway.pid}), SIP on udp ${edge.sip.host}:${edge.sip.port} (${name})`);
      if (gatewayLog) say(`[bench:setup] the gateway's output, --trace-gc lines included: ${gatewayLog}`);
      const client = CLIENT ? await measureClient(edge) : undefined;
      const sippSummary = sipp ? await measureSipp(edge, sipp) : undefined;
      results[name] = { client, sipp: sippSummary };
    } finally {
      say(`[bench:setup] stopping the gateway${name === 'drachtio-server' ? ' and drachtio-server' : ''}`);
      await edge.stop();
      const output = edge.gateway.output;
      if (output.lines > 0) say(`[bench:setup] the gateway wrote ${output.lines} log lines at warn or above (first shown above)`);
    }
  }
  const first = Object.values(results).find((r) => r?.client)?.client;
  process.stdout.write(
    `${JSON.stringify({
      ...(first ? { cps: first.cps, setupP50Ms: first.setupP50Ms, setupP99Ms: first.setupP99Ms, failures: first.failures } : {}),
      ...(first?.sustained
        ? { sustainedCps: first.sustainedCps, sustainedMet: first.sustainedMet, goodputAtOverload: first.goodputAtOverload }
        : {}),
      edges: results,
    })}\n`,
  );
}

/** The bench's own client against one edge: warm-up, the rate steps, profiles and held calls as configured. */
async function measureClient(edge: Edge): Promise<ClientResult> {
  const gateway = edge.gateway;
  const profileDir = PROFILE || STALLS ? mkdtempSync(join(tmpdir(), 'bench-setup-prof-')) : undefined;
  let dialer: SipDialer | undefined;
  let profiler: InspectorProfiler | undefined;
  let warmup: StepResult | undefined;
  let sink: RtpSink | undefined;
  const results: StepResult[] = [];
  let sustained: SustainedResult | undefined;
  let overload: OverloadResult | undefined;
  const dropsBefore = udpPortDrops(edge.sip.port);
  const rcvbufBefore = udpRcvbufErrors();
  try {
    const meetings = await createMeetings(gateway, MEETINGS);
    say(
      `[bench:setup] ${MEETINGS === 1 ? 'one meeting (MAX_PARTICIPANTS=1000)' : `${MEETINGS} meetings`}, one credential per meeting; calls go round-robin over them` +
        `; ${SOCKETS} local UDP sockets; each call is held ${HOLD_MS} ms, then BYE`,
    );
    if (PROFILE || STALLS) profiler = await InspectorProfiler.connect(gateway.inspectorUrl!);
    dialer = await SipDialer.open(edge.sip, { sockets: SOCKETS, timeoutMs: CALL_TIMEOUT_MS });
    // Every call's SDP offers the port of one sink that never reads: the gateway's mix goes
    // out (all its work is done) without this process spending a core receiving it.
    sink = await RtpSink.open().catch((err: Error) => {
      say(`[bench:setup] no RTP sink (${err.message}); the phones announce port 9, where nothing listens, which makes each of the gateway's sends dearer`);
      return undefined;
    });
    const sdp = PCMU_OFFER(sink?.port ?? 9);

    const ownCpu = () => {
      const { gatewaySeconds, workerSeconds } = gateway.cpu();
      return gatewaySeconds + workerSeconds + selfCpuSeconds();
    };
    let callIndex = 0;
    const target = () => {
      const meeting = meetings[callIndex++ % meetings.length]!;
      return { uri: `sip:${meeting.id}@${edge.sip.host}:${edge.sip.port}`, identity: meeting.identity };
    };
    // Warm-up (JIT, first rooms and mixers of every meeting); reported, not ranked.
    if (WARMUP_CALLS > 0) {
      warmup = await runStep(gateway, dialer, WARMUP_CPS, target, sdp, WARMUP_CALLS / WARMUP_CPS);
      say('[bench:setup] warm-up (not ranked):');
      reportStep(warmup);
      await sleep(1000);
    }
    const profiled = async (rate: number, label: string): Promise<StepResult> => {
      await waitForQuietMachine(say, { ownCpu, maxWaitMs: QUIET_WAIT_MS });
      await profiler?.start();
      const result = await runStep(gateway, dialer!, rate, target, sdp, STEP_SECONDS);
      reportStep(result);
      if (profiler && profileDir) {
        // The whole step: calls offered, answered, held and hung up.
        const profile = (await profiler.stop()) as CpuProfile;
        const file = join(profileDir, `${edge.name}-${label}-${rate}cps.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        say(formatProfile(summarizeProfile(profile, `of the gateway's main thread during the ${rate} cps ${label} (${file})`, REPO_ROOT, 20)));
      }
      // Let the rooms settle (mixers of emptied meetings close) before the next step.
      await sleep(1000);
      return result;
    };
    for (const rate of STEPS) {
      if (PROFILE_EVERY_STEP) {
        results.push(await profiled(rate, 'step'));
        continue;
      }
      await waitForQuietMachine(say, { ownCpu, maxWaitMs: QUIET_WAIT_MS });
      const result = await runStep(gateway, dialer, rate, target, sdp, STEP_SECONDS);
      results.push(result);
      reportStep(result);
      await sleep(1000);
    }
    const best = bestStep(results);
    const missed = best.result.setup.p99 >= P99_TARGET_MS || !offeredAndAnswered(best.result);
    if (PROFILE && !PROFILE_EVERY_STEP && missed && !STALLS) {
      say(`[bench:setup] a target was missed: repeating the ${best.result.offeredCps} cps step with the gateway's main thread profiled (not ranked)`);
      await profiled(best.result.offeredCps, 'profiled-repeat');
    }
    if (SUSTAIN_SECONDS > 0) {
      const window = async (rate: number): Promise<StepResult> => {
        await waitForQuietMachine(say, { ownCpu, maxWaitMs: QUIET_WAIT_MS });
        if (STALLS) await profiler?.start();
        const result = await runStep(gateway, dialer!, rate, target, sdp, SUSTAIN_SECONDS);
        reportStep(result);
        if (STALLS && profiler && profileDir) {
          const profile = (await profiler.stop()) as CpuProfile;
          const file = join(profileDir, `${edge.name}-window-${rate}cps.cpuprofile`);
          writeFileSync(file, JSON.stringify(profile));
          const holds = busyStretches(profile, REPO_ROOT, STALL_MIN_MS);
          say(formatBusyStretches(holds.slice(0, 15), `of the gateway's main thread during the ${rate} cps window (${file}; the longest 15)`, STALL_MIN_MS));
          say(formatSlowBuckets(result, holds));
        }
        // Let the held calls end and emptied rooms settle before the next window.
        await sleep(2000);
        return result;
      };
      ({ sustained, overload } = await measureSustainedAndOverload(results, window));
    }
    if (HELD_CALLS > 0) {
      await waitForQuietMachine(say, { ownCpu, maxWaitMs: QUIET_WAIT_MS });
      await measureHeldCalls(gateway, dialer, HELD_CALLS, target, sdp, profiler, profileDir);
    }
    say(
      `[bench:setup] the dialer answered ${dialer.requestsReceived} requests from the gateway and got ${dialer.unmatched} messages ` +
        'for no transaction in flight (late retransmissions of responses already handled)',
    );
  } finally {
    profiler?.close();
    await dialer?.close();
    await sink?.close();
  }

  const failures = results.reduce((sum, r) => sum + r.failures, 0) + (warmup?.failures ?? 0);
  const { result: best, why } = bestStep(results);
  say(`[bench:setup] ${why}`);
  const cps = Math.round(best.achievedCps * 10) / 10;
  const sipSocketDrops = udpPortDrops(edge.sip.port) - dropsBefore;
  const rcvbufErrors = udpRcvbufErrors() - rcvbufBefore;
  say(
    `[bench:setup] targets: >= ${CPS_TARGET} set-ups/s with auth: ${offeredAndAnswered(best) ? 'met' : 'MISSED'} (${cps}); ` +
      `INVITE→200 p99 < ${P99_TARGET_MS} ms at that rate: ${best.setup.p99 < P99_TARGET_MS ? 'met' : 'MISSED'} (${best.setup.p99.toFixed(2)} ms); failures in the whole run: ${failures}; ` +
      `datagrams dropped on the ${edge.name} SIP socket: ${sipSocketDrops} (machine-wide Udp RcvbufErrors: ${rcvbufErrors})`,
  );
  return {
    cps,
    setupP50Ms: ms2(best.setup.p50),
    setupP99Ms: ms2(best.setup.p99),
    failures,
    sipSocketDrops,
    rcvbufErrors,
    cpuPerCallMs: best.cpu.perCallMs,
    ...(sustained && overload
      ? {
          sustainedCps: sustained.achievedCps,
          sustainedMet: sustained.met,
          goodputAtOverload: overload.goodputAtOverload,
          goodputRatio: overload.goodputRatio,
          sustained,
          overload,
        }
      : {}),
  };
}

/** A sustained window meets the bar: every call answered (none refused), p99 < 20 ms, answered as fast as offered. */
/**
 * A step reached the target rate when that rate was offered and every call was answered: the
 * achieved rate of such a step reads a hair under the offered one (199.9 of 200), as the
 * last calls' answers land after the window's last offer.
 */
const offeredAndAnswered = (r: StepResult) => r.offeredCps >= CPS_TARGET && r.failures === 0 && r.achievedCps >= 0.99 * r.offeredCps;
const holdsTheBar = (r: StepResult) => r.failures === 0 && r.setup.p99 < P99_TARGET_MS && r.achievedCps >= 0.95 * r.offeredCps;

/**
 * The sustained window and the overload step. Rates to sustain: BENCH_SUSTAIN_CPS, else the
 * rate steps that met the bar, highest first (else the lowest step); up to
 * BENCH_SUSTAIN_TRIES windows, stopping at the first that holds the bar; past the
 * candidates each try is 3/4 of the last rate. Then twice the
 * offered rate of the reported window, as long, with 503s counted apart from failures.
 */
async function measureSustainedAndOverload(
  steps: readonly StepResult[],
  window: (rate: number) => Promise<StepResult>,
): Promise<{ sustained: SustainedResult; overload: OverloadResult }> {
  const metSteps = steps.filter((r) => holdsTheBar(r) && r.retransmissions === 0).map((r) => r.offeredCps);
  const fallback = Math.min(...steps.map((r) => r.offeredCps), ...STEPS);
  const rates: number[] = SUSTAIN_CPS ? [SUSTAIN_CPS] : metSteps.length > 0 ? [...new Set(metSteps)].sort((a, b) => b - a) : [fallback];
  const tries: Array<[number, number, number, number]> = [];
  let chosen: StepResult | undefined;
  // Past the candidates, each further try is three quarters of the last rate tried.
  while (rates.length < SUSTAIN_TRIES) rates.push(Math.max(1, Math.round(rates.at(-1)! * 0.75)));
  for (const rate of rates.slice(0, Math.max(1, SUSTAIN_TRIES))) {
    say(`[bench:setup] sustained window: ${rate} cps for ${SUSTAIN_SECONDS} s`);
    chosen = await window(rate);
    tries.push([rate, Math.round(chosen.achievedCps * 10) / 10, ms2(chosen.setup.p99), chosen.failures]);
    if (holdsTheBar(chosen)) break;
    say(`[bench:setup] ${rate} cps did not hold the bar for ${SUSTAIN_SECONDS} s`);
  }
  const s = chosen!;
  const met = holdsTheBar(s);
  const sustained: SustainedResult = {
    offeredCps: s.offeredCps,
    seconds: SUSTAIN_SECONDS,
    achievedCps: Math.round(s.achievedCps * 10) / 10,
    setupP50Ms: ms2(s.setup.p50),
    setupP99Ms: ms2(s.setup.p99),
    failures: s.failures,
    shed503: s.shed503,
    retransmissions: s.retransmissions,
    met,
    tries,
  };
  say(
    `[bench:setup] sustained: ${sustained.achievedCps} set-ups/s for ${SUSTAIN_SECONDS} s (offered ${s.offeredCps}), p50 ${sustained.setupP50Ms} ms, ` +
      `p99 ${sustained.setupP99Ms} ms, ${s.failures} failures (${s.shed503} of them 503): ${met ? 'held the bar' : 'did NOT hold the bar (no tried rate did)'}; ` +
      `>= ${CPS_TARGET} set-ups/s: ${met && offeredAndAnswered(s) ? 'met' : 'MISSED'}`,
  );

  const overloadRate = OVERLOAD_FACTOR * s.offeredCps;
  say(`[bench:setup] overload step: ${overloadRate} cps (${OVERLOAD_FACTOR}x) for ${SUSTAIN_SECONDS} s; 503 is expected, a refused caller does not retry`);
  const o = await window(overloadRate);
  // Answered calls over the time they were offered in (the step), the same measure as achievedCps.
  const goodput = Math.round(o.achievedCps * 10) / 10;
  const goodputRatio = sustained.achievedCps > 0 ? Math.round((goodput / sustained.achievedCps) * 1000) / 1000 : 0;
  const retryAfter = o.retryAfterSeconds;
  const overload: OverloadResult = {
    offeredCps: overloadRate,
    seconds: SUSTAIN_SECONDS,
    calls: o.calls,
    answered: o.answered,
    goodputAtOverload: goodput,
    shed503: o.shed503,
    retryAfterSeconds: retryAfter.length > 0 ? { min: Math.min(...retryAfter), max: Math.max(...retryAfter) } : null,
    retransmissions: o.retransmissions,
    failures: o.failures - o.shed503,
    setupP50Ms: ms2(o.setup.p50),
    setupP99Ms: ms2(o.setup.p99),
    goodputRatio,
  };
  say(
    `[bench:setup] overload: goodput ${goodput} set-ups/s while ${o.shed503} of ${o.calls} calls were shed with 503 ` +
      `(Retry-After ${overload.retryAfterSeconds ? `${overload.retryAfterSeconds.min}–${overload.retryAfterSeconds.max} s` : 'none seen'}), ` +
      `${o.retransmissions} INVITE retransmissions (${(o.retransmissions / Math.max(1, o.calls)).toFixed(3)} per call), ${overload.failures} failures other than 503; ` +
      `goodput/sustained ${goodputRatio} (target >= ${GOODPUT_RATIO_TARGET}: ${goodputRatio >= GOODPUT_RATIO_TARGET ? 'met' : 'MISSED'})`,
  );
  return { sustained, overload };
}

interface SippStep {
  readonly offeredCps: number;
  readonly calls: number;
  readonly achievedCps: number;
  readonly failures: number;
  readonly setupP50Ms: number;
  readonly setupP99Ms: number;
  readonly challengeP50Ms: number;
  /** Requests SIPp re-sent for want of an answer within 500 ms. */
  readonly retransmissions: number;
  /** Datagrams the kernel dropped on the edge's SIP socket during the step. */
  readonly sipSocketDrops: number;
  /** ... on SIPp's own SIP sockets. */
  readonly sippSocketDrops: number;
  /** Udp RcvbufErrors of the whole machine (SIPp never reads the RTP the gateway sends it, so those count here too). */
  readonly rcvbufErrors: number;
}

interface SippSummary {
  readonly version: string;
  /** The highest offered rate with every call set up and no datagram dropped on the edge's SIP socket; 0 if none. */
  readonly maxCleanCps: number;
  /** ... that was also answered as fast as offered (achieved >= 95 % of offered): the rate the edge and gateway carry. */
  readonly maxKeptUpCps: number;
  readonly steps: SippStep[];
}

/**
 * SIPp (test/bench/sipp/uac-auth-pcmu.xml: digest auth, PCMU RTP, BYE) at BENCH_SIPP_RATES,
 * BENCH_SIPP_SECONDS each, spread over BENCH_SIPP_MEETINGS meetings (one SIPp each). Stops
 * after the first step with a failed call or a dropped datagram.
 */
async function measureSipp(edge: Edge, version: string): Promise<SippSummary> {
  const meetings = await createMeetings(edge.gateway, SIPP_MEETINGS);
  say(
    `[bench:setup] ${version} against ${edge.name}: ${SIPP_MEETINGS} meetings (one SIPp process each), calls held ${SIPP_HOLD_MS} ms with PCMU RTP, ` +
      `${SIPP_SECONDS} s per step at ${SIPP_RATES.join(', ')} calls/s`,
  );
  const ownCpu = () => {
    const { gatewaySeconds, workerSeconds } = edge.gateway.cpu();
    return gatewaySeconds + workerSeconds + selfCpuSeconds();
  };
  const steps: SippStep[] = [];
  for (const rate of SIPP_RATES) {
    await waitForQuietMachine(say, { ownCpu, maxWaitMs: QUIET_WAIT_MS });
    const perMeeting = Math.max(1, Math.round((rate * SIPP_SECONDS) / meetings.length));
    const runs: SippRun[] = [];
    for (const [index, meeting] of meetings.entries()) {
      runs.push({
        rate: rate / meetings.length,
        calls: perMeeting,
        holdMs: SIPP_HOLD_MS,
        target: edge.sip,
        service: meeting.id,
        username: meeting.identity.username,
        password: meeting.identity.password,
        localPort: await freeSipPort(),
        mediaPort: SIPP_MEDIA_PORT_BASE + 2000 * index,
      });
    }
    const sippDrops = () => runs.reduce((sum, run) => sum + udpPortDrops(run.localPort), 0);
    const dropsBefore = udpPortDrops(edge.sip.port);
    const rcvbufBefore = udpRcvbufErrors();
    // SIPp gives up on a call after 32 s of silence; anything slower than that is a failure anyway.
    const result = await runSipp(runs, (SIPP_SECONDS + SIPP_HOLD_MS / 1000 + 45) * 1000);
    const step: SippStep = {
      offeredCps: rate,
      calls: result.calls,
      achievedCps: Math.round(result.achievedCps * 10) / 10,
      failures: result.failed,
      setupP50Ms: ms2(result.setup.p50),
      setupP99Ms: ms2(result.setup.p99),
      challengeP50Ms: ms2(result.challenge.p50),
      retransmissions: result.retransmissions,
      sipSocketDrops: udpPortDrops(edge.sip.port) - dropsBefore,
      sippSocketDrops: sippDrops(),
      rcvbufErrors: udpRcvbufErrors() - rcvbufBefore,
    };
    steps.push(step);
    say(
      `[bench:setup] SIPp ${rate} calls/s → ${edge.name}: ${step.calls} calls, ${step.failures} failed, achieved ${step.achievedCps} set-ups/s, ` +
        `INVITE+auth→200 p50 ${step.setupP50Ms} ms p99 ${step.setupP99Ms} ms (SIPp's clock: whole ms), ${step.retransmissions} retransmissions by SIPp, ` +
        `dropped on the edge's SIP socket: ${step.sipSocketDrops}, on SIPp's: ${step.sippSocketDrops}, machine-wide Udp RcvbufErrors: ${step.rcvbufErrors}`,
    );
    if (result.tail) say(`    SIPp said: ${result.tail.slice(0, 600).replace(/\r?\n/g, ' | ')}`);
    // Let BYEs, timers and emptied rooms settle before the next step.
    await sleep(2000);
    if (step.failures > 0 || step.sipSocketDrops > 0) {
      say(`[bench:setup] SIPp: stopping at ${rate} calls/s (failures or drops); higher rates are not tried`);
      break;
    }
  }
  const clean = steps.filter((s) => s.failures === 0 && s.sipSocketDrops === 0);
  const keptUp = clean.filter((s) => s.achievedCps >= 0.95 * s.offeredCps);
  const highest = (list: SippStep[]) => Math.max(0, ...list.map((s) => s.offeredCps));
  return { version, maxCleanCps: highest(clean), maxKeptUpCps: highest(keptUp), steps };
}

/**
 * The step to report. A step "keeps up" when every call was answered, none needed a
 * retransmission, and the answers came as fast as the calls were offered. The highest
 * such step with p99 < 20 ms; else the highest step kept up with; else the fastest.
 */
function bestStep(results: readonly StepResult[]): { result: StepResult; why: string } {
  const keepsUp = (r: StepResult) => r.failures === 0 && r.retransmissions === 0 && r.achievedCps >= 0.95 * r.offeredCps;
  let result = results.filter((r) => keepsUp(r) && r.setup.p99 < P99_TARGET_MS).at(-1);
  if (result) {
    return {
      result,
      why:
        `best step: offered ${result.offeredCps} cps, achieved ${result.achievedCps.toFixed(1)} set-ups/s, every call answered, ` +
        `INVITE→200 p99 ${result.setup.p99.toFixed(2)} ms < ${P99_TARGET_MS} ms`,
    };
  }
  result = results.filter(keepsUp).at(-1);
  if (result) {
    return {
      result,
      why:
        `no step kept p99 < ${P99_TARGET_MS} ms; reporting the highest step the gateway kept up with ` +
        `(every call answered, no retransmission, answered as fast as offered): offered ${result.offeredCps} cps, p99 ${result.setup.p99.toFixed(2)} ms`,
    };
  }
  result = [...results].sort((a, b) => b.achievedCps - a.achievedCps)[0]!;
  return { result, why: `the gateway kept up with no step; reporting the highest achieved rate (offered ${result.offeredCps} cps)` };
}

async function createMeetings(gateway: ChildGateway, count: number): Promise<Meeting[]> {
  const run = Date.now().toString(36);
  const meetings: Meeting[] = [];
  for (let i = 0; i < count; i++) {
    const id = `bench-${run}-${i}`;
    await gateway.api('POST', '/meetings', { id });
    const credential = await gateway.api<{ username: string; password: string }>('POST', '/sip-credentials', { meetingId: id });
    meetings.push({ id, identity: { username: credential.username, password: credential.password } });
  }
  return meetings;
}

async function runStep(
  gateway: ChildGateway,
  dialer: SipDialer,
  rate: number,
  nextTarget: () => { uri: string; identity: { username: string; password: string } },
  sdp: string,
  seconds: number,
): Promise<StepResult> {
  const total = Math.round(rate * seconds);
  const setupMs: number[] = [];
  const buckets: number[][] = [];
  const fullMs: number[] = [];
  const challengeMs: number[] = [];
  const failureReasons = new Map<string, number>();
  const retryAfterSeconds: number[] = [];
  let failures = 0;
  let shed503 = 0;
  let retransmissions = 0;
  let byeFailures = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  let maxLaunchLagMs = 0;
  let firstAnsweredAt = Infinity;
  let lastAnsweredAt = 0;
  const calls: Promise<void>[] = [];
  const launchLags: number[] = [];

  const cpuBefore = gateway.cpu();
  const benchCpuBefore = process.cpuUsage();
  const machineBefore = machineCpu();
  const wallBefore = performance.now();
  const start = performance.now();

  const one = async (): Promise<void> => {
    const { uri, identity } = nextTarget();
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    let call: DialedCall | undefined;
    try {
      call = await dialer.call(uri, identity, sdp);
      const { setup } = call;
      setupMs.push(setup.answeredAt - setup.authInviteAt);
      const bucket = Math.floor((setup.firstInviteAt - start) / 500);
      (buckets[bucket] ??= []).push(setup.answeredAt - setup.authInviteAt);
      fullMs.push(setup.answeredAt - setup.firstInviteAt);
      challengeMs.push(setup.challengedAt - setup.firstInviteAt);
      retransmissions += setup.retransmissions;
      firstAnsweredAt = Math.min(firstAnsweredAt, setup.answeredAt);
      lastAnsweredAt = Math.max(lastAnsweredAt, setup.answeredAt);
    } catch (err) {
      failures++;
      if (err instanceof CallFailed) {
        retransmissions += err.retransmissions;
        if (err.status === SERVICE_UNAVAILABLE) shed503++;
        if (err.retryAfterSeconds !== undefined) retryAfterSeconds.push(err.retryAfterSeconds);
      }
      const reason = err instanceof CallFailed ? err.message.replace(/;.*$/, '') : String(err);
      failureReasons.set(reason, (failureReasons.get(reason) ?? 0) + 1);
    }
    if (call) {
      await sleep(HOLD_MS);
      try {
        const status = await call.hangUp();
        if (status !== 200 && !call.endedByTheGateway) byeFailures++;
      } catch {
        byeFailures++;
      }
    }
    concurrent--;
  };

  // Open loop: call i leaves at start + i/rate, however the earlier ones are doing.
  let launched = 0;
  while (launched < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - start) * rate) / 1000) + 1);
    if (due > launched) {
      const lag = now - (start + (launched * 1000) / rate);
      maxLaunchLagMs = Math.max(maxLaunchLagMs, lag);
      const bucket = Math.floor((now - start) / 500);
      launchLags[bucket] = Math.max(launchLags[bucket] ?? 0, lag);
    }
    while (launched < due) {
      calls.push(one());
      launched++;
    }
    const nextDue = start + (launched * 1000) / rate;
    await sleep(Math.max(0, nextDue - performance.now()));
  }
  const launchEnd = performance.now();
  // The mixer statistics cover the last 10 s, which is this step while its calls are up.
  const mixer = await gateway.api('GET', '/mixer').catch((err: Error) => ({ error: err.message }));
  const cpuAtLoad = gateway.cpu();
  const benchCpu = process.cpuUsage(benchCpuBefore);
  const machineAtLoad = machineCpu();
  const wallAtLoad = performance.now();
  await Promise.all(calls);
  const cpuAfter = gateway.cpu();

  const answered = setupMs.length;
  // Set-ups per second: answered calls over the span they were offered in (one interval per call).
  const span = Math.max(launchEnd - start, (total * 1000) / rate);
  const wall = (wallAtLoad - wallBefore) / 1000;
  return {
    offeredCps: rate,
    calls: total,
    answered,
    failures,
    shed503,
    retryAfterSeconds,
    failureReasons,
    achievedCps: (answered * 1000) / Math.max(span, lastAnsweredAt - start),
    setup: summarize(setupMs),
    full: summarize(fullMs),
    challenge: summarize(challengeMs),
    retransmissions,
    maxLaunchLagMs,
    maxConcurrent,
    byeFailures,
    cpu: {
      gatewayPercent: (100 * (cpuAtLoad.gatewaySeconds - cpuBefore.gatewaySeconds)) / wall,
      workerPercent: (100 * (cpuAtLoad.workerSeconds - cpuBefore.workerSeconds)) / wall,
      perCallMs: {
        node: perCallMs(cpuAfter.gatewaySeconds - cpuBefore.gatewaySeconds, answered),
        mainThread: perCallMs(cpuAfter.mainThreadSeconds - cpuBefore.mainThreadSeconds, answered),
        worker: perCallMs(cpuAfter.workerSeconds - cpuBefore.workerSeconds, answered),
      },
    },
    mixer,
    timeline: [...buckets].map((b) => (b ? [summarize(b).p50, summarize(b).max] : [Number.NaN, Number.NaN])),
    launchLagTimeline: Array.from({ length: buckets.length }, (_, i) => launchLags[i] ?? 0),
    benchCpuPercent: (100 * (benchCpu.user + benchCpu.system)) / 1e6 / wall,
    foreignCpuPercent:
      (100 *
        (machineAtLoad.busySeconds -
          machineBefore.busySeconds -
          (cpuAtLoad.gatewaySeconds - cpuBefore.gatewaySeconds) -
          (cpuAtLoad.workerSeconds - cpuBefore.workerSeconds) -
          (benchCpu.user + benchCpu.system) / 1e6)) /
      wall,
  };
}

/**
 * What established calls cost while nothing else happens: `count` calls set up at
 * 50/s and held, then the gateway's CPU over 5 s. Each call's mixer leg sends 50 packets
 * a second through mediasoup and the relay even when nobody speaks, so this is the
 * floor under every set-up rate with calls held.
 */
async function measureHeldCalls(
  gateway: ChildGateway,
  dialer: SipDialer,
  count: number,
  target: () => { uri: string; identity: { username: string; password: string } },
  sdp: string,
  profiler: InspectorProfiler | undefined,
  profileDir: string | undefined,
): Promise<void> {
  const calls: DialedCall[] = [];
  let failed = 0;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const { uri, identity } = target();
    pending.push(dialer.call(uri, identity, sdp).then((call) => void calls.push(call), () => void failed++));
    await sleep(20);
  }
  await Promise.all(pending);
  await sleep(1000);
  await profiler?.start();
  const before = gateway.cpu();
  const wallBefore = performance.now();
  await sleep(5000);
  const after = gateway.cpu();
  const seconds = (performance.now() - wallBefore) / 1000;
  const profile = profiler ? ((await profiler.stop()) as CpuProfile) : undefined;
  const mixer = await gateway.api('GET', '/mixer').catch((err: Error) => ({ error: err.message }));
  const gatewayPercent = (100 * (after.gatewaySeconds - before.gatewaySeconds)) / seconds;
  const workerPercent = (100 * (after.workerSeconds - before.workerSeconds)) / seconds;
  say(
    `[bench:setup] ${calls.length} established silent calls (${failed} failed to set up), nothing else happening: ` +
      `gateway node ${gatewayPercent.toFixed(0)}% of a core (${((gatewayPercent * 10) / Math.max(1, calls.length)).toFixed(2)} ms CPU per call per second), ` +
      `mediasoup worker ${workerPercent.toFixed(0)}%; GET /api/mixer ${JSON.stringify(mixer)}`,
  );
  if (profile && profileDir) {
    const file = join(profileDir, `held-${calls.length}-calls.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    say(formatProfile(summarizeProfile(profile, `of the gateway's main thread with ${calls.length} calls held (${file})`, REPO_ROOT, 20)));
  }
  await Promise.all(calls.map((call) => call.hangUp().catch(() => 0)));
}

/** CPU seconds over `calls` calls, in ms per call (rounded to 0.01). */
const perCallMs = (seconds: number, calls: number) => (calls === 0 ? 0 : Math.round((seconds * 100_000) / calls) / 100);

function reportStep(r: StepResult): void {
  say(
    `[bench:setup] step ${r.offeredCps} cps: ${r.calls} calls, ${r.answered} answered, ${r.failures} failed (${r.shed503} of them 503), ` +
      `achieved ${r.achievedCps.toFixed(1)} set-ups/s, up to ${r.maxConcurrent} calls at once, ` +
      `${r.retransmissions} INVITE retransmissions, ${r.byeFailures} BYEs unanswered, launch lag max ${r.maxLaunchLagMs.toFixed(1)} ms`,
  );
  say(`    INVITE+auth → 200 (set-up):        ${formatSummary(r.setup)}`);
  say(`    first INVITE → 200 (incl. the 401): ${formatSummary(r.full)}`);
  say(`    first INVITE → 401:                 ${formatSummary(r.challenge)}`);
  say(`    set-up p50/max by offer time, 0.5 s buckets: ${r.timeline.map(([p50, max]) => `${p50.toFixed(0)}/${max.toFixed(0)}`).join(' ')} ms`);
  say(
    `    CPU while offering: gateway node ${r.cpu.gatewayPercent.toFixed(0)}%, mediasoup worker ${r.cpu.workerPercent.toFixed(0)}%, ` +
      `this benchmark ${r.benchCpuPercent.toFixed(0)}%, anything else ${r.foreignCpuPercent.toFixed(0)}% (2 cores = 200%); GET /api/mixer ${JSON.stringify(r.mixer)}`,
  );
  const { node, mainThread, worker } = r.cpu.perCallMs;
  say(`    CPU per answered call (the step's calls held and hung up): gateway node ${node} ms, of it the main thread ${mainThread} ms; mediasoup worker ${worker} ms`);
  for (const [reason, count] of r.failureReasons) say(`    failure x${count}: ${reason}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`[bench:setup] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

/**
 * BENCH_STALLS: each 0.5 s bucket whose slowest set-up took STALL_MIN_MS or more, with the
 * holds of the gateway's main thread that overlap it (profile time, which starts with the
 * window) and this benchmark's own launch lag there. A slow bucket with no hold and no lag
 * waited on something other than the main thread's JavaScript (another thread, a process).
 */
function formatSlowBuckets(result: StepResult, holds: readonly BusyStretch[]): string {
  const lines = [`set-up buckets with a set-up of ${STALL_MIN_MS} ms or more (at: p50/max; main-thread holds overlapping it; launch lag):`];
  result.timeline.forEach(([p50, max], i) => {
    if (!(max >= STALL_MIN_MS)) return;
    const from = i * 0.5 - 0.3;
    const to = (i + 1) * 0.5;
    const overlapping = holds.filter((h) => h.atS < to && h.atS + h.ms / 1000 > from);
    const held = overlapping.map((h) => `${h.atS.toFixed(2)} s ${h.ms.toFixed(0)} ms (GC ${h.gcMs.toFixed(0)})`).join(', ') || 'none';
    lines.push(`  ${(i * 0.5).toFixed(1)} s: ${p50.toFixed(0)}/${max.toFixed(0)} ms; holds: ${held}; launch lag ${(result.launchLagTimeline[i] ?? 0).toFixed(0)} ms`);
  });
  return lines.join('\n');
}
