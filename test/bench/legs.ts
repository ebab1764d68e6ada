/**
 * `npm run bench:legs`: how many phone legs the whole gateway carries per CPU core.
 *
 * The gateway runs as a child process (SIP through its in-process drachtio stand-in, real
 * mediasoup, one worker). Meetings are added step by step, each with 3 opus talkers (SIP
 * callers sending a pre-encoded tone over RTP, which the gateway feeds into the meeting
 * through a PlainTransport) and 4 PCMU phone legs (SIP callers sending silence and
 * receiving the meeting's mix, which they check: sequence, timestamps, payload, and the
 * three talkers' tones in it). Each step is held, then measured over a fixed window:
 * the CPU of the gateway's Node process plus its mediasoup workers (from /proc), the
 * mixer's tick lateness (GET /api/mixer, its last 10 s), the packets every caller missed
 * (phones and talkers alike: sequence gaps, or a stream well under 50 packets/s), and the
 * gateway's RSS. The ramp stops at the first limit (tick p99 ≥ 5 ms, any loss, phones
 * missing a talker's tone in more than 5 % of checked frames, malformed streams, gateway
 * errors, the gateway using ≥ BENCH_CPU_LIMIT cores, a failed call, or the time cap); a
 * step that failed on timing while other processes loaded the machine is measured again.
 * The whole ramp runs once per media-thread count (BENCH_MEDIA_THREADS, "1,2": a fresh
 * gateway with MEDIA_THREADS=1, then one with MEDIA_THREADS=2), so how the phone media
 * scales with cores is visible. The last step that met the targets of the run with the
 * most threads is reported as ONE JSON line on stdout, everything else goes to stderr:
 *   {"legs":N,"legsPerCore":X,"cpuCores":C,"tickLatenessP99Ms":L,"lossPct":P,"rssPerLegMB":R,
 *    "mediaThreads":T,"legsWith1Thread":N1,"legsWith2Threads":N2,"scaling":S}
 * legs counts the PCMU phone legs; cpuCores is the gateway's CPU seconds per second in that
 * step, over its Node process (the main thread and every media thread: /proc counts a
 * process's threads together) and its mediasoup workers; rssPerLegMB is (its RSS then − its
 * RSS before any call) / legs; legsWithNThreads is the legs the run with N media threads
 * reached, and scaling = legsWith2Threads / legsWith1Thread.
 *
 * Knobs (environment): BENCH_HOLD_SECONDS (10; the measured window, ≥ 10 so the mixer's
 * 10 s lateness window sees only steady state), BENCH_SETTLE_SECONDS (2), BENCH_MAX_SECONDS
 * (480), BENCH_CPU_LIMIT (1.6 cores), BENCH_MAX_MEETINGS (none), BENCH_WORKERS (1),
 * BENCH_SEND_PHASES (4: the callers' 20 ms frames are spread over 4 phases, as unsynchronized
 * phones would be; 1 sends every caller's frame in one burst),
 * BENCH_CPU_PROF (a directory: the gateway runs with --cpu-prof and writes its profile
 * there when it stops; the measured windows are logged on the profile's clock),
 * BENCH_DEBUG_TONES=1 (print the tone amplitudes of every checked frame that misses one),
 * BENCH_IGNORE_TIMING=1 (on a machine other processes load: steps that fail only on timing,
 * tick lateness or loss, count as passing and the ramp goes on, so CPU per leg is still
 * measured; the JSON line then says "timingIgnored":true),
 * BENCH_TALKERS (3, at most 3) and BENCH_PHONES (4) per meeting, to see what each kind of
 * call costs; the issue's figures are for the defaults. BENCH_MEDIA_THREADS ("1,2"; a
 * single count runs one ramp).
 */
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { requestJson } from '../support/json-api.js';
import { type GatewayProcess, coresBetween, machineCores, sampleTree, startGatewayProcess } from './support/gateway-process.js';
import {
  OpusTalker,
  PcmuPhone,
  type ReceiveWindow,
  type RtpEndpoint,
  SendClock,
  TALKER_TONES_HZ,
  emptyWindow,
  encodeOpusTone,
} from './support/rtp-endpoints.js';
import { type Credentials, SipCall, SipUserAgent } from './support/sip-client.js';

const SETUP_CONCURRENCY = 10;
const HANGUP_CONCURRENCY = 20;
const TICK_P99_LIMIT_MS = 5;
/** Cores used by processes other than the gateway and this benchmark above which a step counts as disturbed. */
const OTHERS_LIMIT = 0.25;
const MAX_REMEASURES = 2;

const numberEnv = (name: string, fallback: number) => {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${name}="${value}" is not a positive number`);
  return parsed;
};

const HOLD_SECONDS = numberEnv('BENCH_HOLD_SECONDS', 10);
const SETTLE_SECONDS = numberEnv('BENCH_SETTLE_SECONDS', 2);
const MAX_SECONDS = numberEnv('BENCH_MAX_SECONDS', 480);
const CPU_LIMIT = numberEnv('BENCH_CPU_LIMIT', 1.6);
const MAX_MEETINGS = numberEnv('BENCH_MAX_MEETINGS', Number.POSITIVE_INFINITY);
const WORKERS = numberEnv('BENCH_WORKERS', 1);
const TALKERS_PER_MEETING = Math.min(TALKER_TONES_HZ.length, Math.round(numberEnv('BENCH_TALKERS', TALKER_TONES_HZ.length)));
const PHONES_PER_MEETING = Math.round(numberEnv('BENCH_PHONES', 4));
const SEND_PHASES = Math.round(numberEnv('BENCH_SEND_PHASES', 4));
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
const IGNORE_TIMING = process.env.BENCH_IGNORE_TIMING === '1';
/** Whether a step counts as meeting the targets. */
const passes = (step: Step) => step.failures.length === 0 || (IGNORE_TIMING && step.timingFailuresOnly);
const MEDIA_THREAD_COUNTS = (process.env.BENCH_MEDIA_THREADS || '1,2').split(',').map((count) => {
  const threads = Number(count.trim());
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`BENCH_MEDIA_THREADS="${process.env.BENCH_MEDIA_THREADS}" is not a list of thread counts (1,2)`);
  return threads;
});

/**
 * Meetings after each step: 1, then +2 (8 legs) up to 16, +4 up to 40, +8 up to 104,
 * then +16: fine where a limit is likely, coarser where the time cap would bite.
 */
function* meetingSteps(): Generator<number> {
  yield 1;
  let meetings = 2;
  for (;;) {
    yield meetings;
    meetings += meetings < 16 ? 2 : meetings < 40 ? 4 : meetings < 104 ? 8 : 16;
  }
}

const log = (line: string) => process.stderr.write(`${line}\n`);
/** Lines the gateway logged at level error or fatal (pino 50/60), or that are not JSON at all. */
let gatewayErrorLines = 0;
const round = (value: number, digits: number) => Number(value.toFixed(digits));

interface Call {
  readonly kind: 'phone' | 'talker';
  readonly sip: SipCall;
  readonly media: RtpEndpoint;
}

interface Meeting {
  readonly id: string;
  readonly credentials: Credentials;
  readonly calls: Call[];
}

interface Step {
  readonly meetings: number;
  readonly legs: number;
  readonly calls: number;
  readonly gatewayCores: number;
  readonly nodeCores: number;
  readonly workerCores: number;
  readonly tickP50Ms: number;
  readonly tickP99Ms: number;
  readonly tickMaxMs: number;
  readonly mixers: number;
  readonly phones: ReceiveWindow;
  readonly talkers: ReceiveWindow;
  readonly lossPct: number;
  readonly rssMB: number;
  readonly clientCores: number;
  readonly clientClockP99Ms: number;
  readonly clientClockMaxMs: number;
  readonly machineCores: number;
  readonly setupSeconds: number;
  /** Why this step does not meet the targets; empty when it does. */
  readonly failures: string[];
  /** Whether every failure is one that load from other processes can cause (timing, loss, concealed audio). */
  readonly timingFailuresOnly: boolean;
}

function api<T>(gateway: GatewayProcess, method: string, path: string, body?: unknown): Promise<T> {
  return requestJson<T>(gateway.httpUrl, method, path, body);
}

/** Runs `work` over `items` with at most `concurrency` at once; collects the errors. */
async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<Error[]> {
  const errors: Error[] = [];
  let next = 0;
  const runners = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (err) {
        errors.push(err instanceof Error ? err : new Error(String(err)));
      }
    }
  });
  await Promise.all(runners);
  return errors;
}

class Bench {
  private readonly meetings: Meeting[] = [];
  private readonly clock = new SendClock(SEND_PHASES);
  private readonly toneFrames = TALKER_TONES_HZ.map((hz) => encodeOpusTone(hz));
  private aborted: string | undefined;
  private errorLinesBefore = 0;

  constructor(
    private readonly gateway: GatewayProcess,
    private readonly ua: SipUserAgent,
  ) {}

  abort(reason: string): void {
    this.aborted ??= reason;
  }

  get calls(): Call[] {
    return this.meetings.flatMap((m) => m.calls);
  }

  async run(): Promise<{ steps: Step[]; baselineRssMB: number; stopReason: string }> {
    const started = performance.now();
    this.clock.start();
    await sleep(2000);
    const baseline = sampleTree(this.gateway.pid);
    const baselineRssMB = baseline.rssMB;
    const workerPids = baseline.pids.slice(1);
    log(`bench: gateway pid ${this.gateway.pid}, mediasoup worker pid(s) ${workerPids.join(', ') || 'NONE FOUND'}; baseline RSS (gateway + workers, no calls) ${baselineRssMB.toFixed(1)} MB`);
    if (workerPids.length !== WORKERS) log(`bench: WARNING: expected ${WORKERS} mediasoup worker(s), found ${workerPids.length}: CPU and RSS will be off`);
    log(`bench: each meeting = ${TALKERS_PER_MEETING} opus talkers + ${PHONES_PER_MEETING} PCMU phone legs; "legs" counts the PCMU phone legs`);
    log(
      'bench: step | meetings | legs | calls | gw cores (node+workers) | tick p50/p99/max ms | loss % (phones/talkers) | tones heard | gw RSS MB | client cores | client clock p99/max ms | machine cores (others) | set-up s',
    );
    const steps: Step[] = [];
    let stopReason = 'time cap';
    let lastStepSeconds = 0;
    for (const target of meetingSteps()) {
      if (this.aborted) {
        stopReason = this.aborted;
        break;
      }
      if (target > MAX_MEETINGS) {
        stopReason = `BENCH_MAX_MEETINGS=${MAX_MEETINGS} reached`;
        break;
      }
      const elapsed = (performance.now() - started) / 1000;
      // The next step takes longer than the last (more calls to set up): leave room for it.
      if (elapsed + lastStepSeconds * 1.3 > MAX_SECONDS) {
        stopReason = `time cap (${MAX_SECONDS} s)`;
        break;
      }
      const stepStart = performance.now();
      const setupStart = performance.now();
      const errors = await this.growTo(target);
      const setupSeconds = (performance.now() - setupStart) / 1000;
      if (errors.length > 0) {
        stopReason = `call set-up failed at ${target} meetings: ${errors.length} calls, first: ${errors[0]!.message}`;
        break;
      }
      let step = await this.measure(setupSeconds);
      // Other processes on this machine (not the gateway, not us) can fail a step that would
      // pass: say so, and measure the same step again, twice at most.
      for (let retry = 1; !IGNORE_TIMING && retry <= MAX_REMEASURES && step.failures.length > 0 && step.timingFailuresOnly && othersCores(step) > OTHERS_LIMIT && !this.aborted; retry++) {
        log(`${formatStep(steps.length + 1, step)} | DISTURBED: other processes used ${othersCores(step).toFixed(2)} cores; measuring again (${retry}/${MAX_REMEASURES})`);
        step = await this.measure(setupSeconds);
      }
      lastStepSeconds = (performance.now() - stepStart) / 1000;
      steps.push(step);
      log(formatStep(steps.length, step));
      if (!passes(step)) {
        stopReason = step.failures.join('; ');
        break;
      }
      if (step.gatewayCores >= CPU_LIMIT) {
        stopReason = `gateway CPU ${step.gatewayCores.toFixed(2)} cores ≥ limit ${CPU_LIMIT}`;
        break;
      }
    }
    return { steps, baselineRssMB, stopReason };
  }

  /** Adds meetings (with all their calls) until there are `target`. */
  private async growTo(target: number): Promise<Error[]> {
    const fresh: Meeting[] = [];
    while (this.meetings.length + fresh.length < target) {
      const id = `bench-${this.meetings.length + fresh.length + 1}`;
      await api(this.gateway, 'POST', '/api/meetings', { id });
      const credentials = await api<Credentials>(this.gateway, 'POST', '/api/sip-credentials', { meetingId: id });
      fresh.push({ id, credentials, calls: [] });
    }
    this.meetings.push(...fresh);
    const jobs = fresh.flatMap((meeting) => [
      ...Array.from({ length: TALKERS_PER_MEETING }, (_, i) => ({ meeting, kind: 'talker' as const, index: i })),
      ...Array.from({ length: PHONES_PER_MEETING }, (_, i) => ({ meeting, kind: 'phone' as const, index: i })),
    ]);
    return pool(jobs, SETUP_CONCURRENCY, async ({ meeting, kind, index }) => {
      if (this.aborted) throw new Error(this.aborted);
      const media = kind === 'talker' ? await OpusTalker.open(this.toneFrames[index % this.toneFrames.length]!) : await PcmuPhone.open(TALKER_TONES_HZ.slice(0, TALKERS_PER_MEETING));
      const uri = `sip:${meeting.id}@127.0.0.1:${this.gateway.sipPort}`;
      const sip = new SipCall(this.ua, uri, meeting.credentials, `${kind} ${index + 1}`);
      const call: Call = { kind, sip, media };
      meeting.calls.push(call);
      const answer = await sip.dial(media.offer());
      const expected = kind === 'talker' ? 111 : 0;
      if (answer.payloadType !== expected) throw new Error(`${meeting.id}: answered payload type ${answer.payloadType}, offered ${expected}`);
      await media.connect(answer.ip, answer.port);
      this.clock.add(media);
    });
  }

  /** Settles, then measures one window of HOLD_SECONDS. */
  private async measure(setupSeconds: number): Promise<Step> {
    await sleep(SETTLE_SECONDS * 1000);
    const calls = this.calls;
    for (const call of calls) call.media.mark();
    this.clock.takeLateness();
    const before = sampleTree(this.gateway.pid);
    const clientBefore = process.cpuUsage();
    const machineBefore = machineCores();
    const wallBefore = performance.now();
    const monotonicBefore = process.hrtime.bigint() / 1000n;
    await sleep(HOLD_SECONDS * 1000);
    // The profile's timestamps are on the same monotonic clock: lets a profile be cut to the windows.
    if (CPU_PROF_DIR) log(`bench: measured window (monotonic µs) ${monotonicBefore}-${process.hrtime.bigint() / 1000n}`);
    const mixer = await api<{ mixers: number; ticks: number; latenessP50Ms: number; latenessP99Ms: number; latenessMaxMs: number }>(
      this.gateway,
      'GET',
      '/api/mixer',
    );
    const after = sampleTree(this.gateway.pid);
    const wallMs = performance.now() - wallBefore;
    const clientUsage = process.cpuUsage(clientBefore);
    const machineAfter = machineCores();
    const clientClock = this.clock.takeLateness();
    const phones = emptyWindow();
    const talkers = emptyWindow();
    for (const call of calls) call.media.measure(wallMs, call.kind === 'phone' ? phones : talkers);
    const cores = coresBetween(before, after, this.gateway.pid);
    const legs = calls.filter((c) => c.kind === 'phone').length;
    const expected = phones.expected + talkers.expected;
    const lossPct = expected === 0 ? 0 : ((phones.lost + talkers.lost) / expected) * 100;
    const failures: string[] = [];
    if (mixer.latenessP99Ms >= TICK_P99_LIMIT_MS) failures.push(`tick lateness p99 ${mixer.latenessP99Ms.toFixed(2)} ms ≥ ${TICK_P99_LIMIT_MS} ms`);
    if (phones.lost + talkers.lost > 0) failures.push(`loss ${lossPct.toFixed(3)} % (${phones.lost} phone, ${talkers.lost} talker packets)`);
    if (phones.toneChecks > 0 && phones.toneChecksHeardAll < phones.toneChecks * 0.95) {
      failures.push(`phones heard all ${TALKERS_PER_MEETING} talkers in only ${phones.toneChecksHeardAll} of ${phones.toneChecks} checked frames`);
    }
    const timingFailures = failures.length;
    const errorLines = gatewayErrorLines - this.errorLinesBefore;
    this.errorLinesBefore = gatewayErrorLines;
    if (errorLines > 0) failures.push(`the gateway logged ${errorLines} errors (see the [gateway] lines)`);
    const streamErrors = phones.malformed + phones.ssrcChanges + talkers.malformed + talkers.ssrcChanges;
    if (streamErrors > 0) failures.push(`stream errors: ${streamErrors} malformed packets or SSRC changes`);
    if (mixer.mixers !== this.meetings.length) failures.push(`GET /api/mixer counts ${mixer.mixers} mixers for ${this.meetings.length} meetings`);
    return {
      meetings: this.meetings.length,
      legs,
      calls: calls.length,
      gatewayCores: cores.total,
      nodeCores: cores.node,
      workerCores: cores.total - cores.node,
      tickP50Ms: mixer.latenessP50Ms,
      tickP99Ms: mixer.latenessP99Ms,
      tickMaxMs: mixer.latenessMaxMs,
      mixers: mixer.mixers,
      phones,
      talkers,
      lossPct,
      rssMB: after.rssMB,
      clientCores: (clientUsage.user + clientUsage.system) / 1e6 / (wallMs / 1000),
      clientClockP99Ms: clientClock.p99,
      clientClockMaxMs: clientClock.max,
      machineCores: (machineAfter.busy - machineBefore.busy) / (wallMs / 1000),
      setupSeconds,
      failures,
      timingFailuresOnly: failures.length === timingFailures,
    };
  }

  async hangUpAll(): Promise<void> {
    const calls = this.calls;
    for (const call of calls) this.clock.remove(call.media);
    this.clock.stop();
    const errors = await pool(calls, HANGUP_CONCURRENCY, async (call) => {
      try {
        await call.sip.hangUp();
      } finally {
        call.media.close();
      }
    });
    const byGateway = calls.filter((c) => c.sip.hungUpByGateway).length;
    log(`bench: hung up ${calls.length} calls${errors.length ? `, ${errors.length} BYEs failed (first: ${errors[0]!.message})` : ''}${byGateway ? `; the gateway had ended ${byGateway} itself` : ''}`);
  }
}

const othersCores = (s: Step) => Math.max(0, s.machineCores - s.gatewayCores - s.clientCores);

function formatStep(index: number, s: Step): string {
  const pct = (w: ReceiveWindow) => (w.expected === 0 ? 0 : (w.lost / w.expected) * 100).toFixed(3);
  return [
    `bench: step ${index}`,
    `${s.meetings} meetings`,
    `${s.legs} legs`,
    `${s.calls} calls`,
    `gw ${s.gatewayCores.toFixed(2)} cores (${s.nodeCores.toFixed(2)}+${s.workerCores.toFixed(2)})`,
    `tick ${s.tickP50Ms.toFixed(2)}/${s.tickP99Ms.toFixed(2)}/${s.tickMaxMs.toFixed(2)} ms`,
    `loss ${pct(s.phones)}/${pct(s.talkers)} %`,
    `tones ${s.phones.toneChecksHeardAll}/${s.phones.toneChecks}`,
    `rss ${s.rssMB.toFixed(1)} MB`,
    `client ${s.clientCores.toFixed(2)} cores`,
    `client clock p99/max ${s.clientClockP99Ms.toFixed(2)}/${s.clientClockMaxMs.toFixed(2)} ms`,
    `machine ${s.machineCores.toFixed(2)} cores (others ${othersCores(s).toFixed(2)})`,
    `set-up ${s.setupSeconds.toFixed(1)} s`,
    ...(s.phones.duplicatesOrLate + s.talkers.duplicatesOrLate > 0 ? [`dup/late ${s.phones.duplicatesOrLate + s.talkers.duplicatesOrLate}`] : []),
    ...(s.phones.timestampJumps + s.talkers.timestampJumps > 0 ? [`ts jumps ${s.phones.timestampJumps}/${s.talkers.timestampJumps}`] : []),
    ...(s.phones.starved + s.talkers.starved > 0 ? [`starved ${s.phones.starved}/${s.talkers.starved}`] : []),
    ...(s.failures.length ? [`FAILS: ${s.failures.join('; ')}`] : []),
  ].join(' | ');
}

function markdownTable(steps: readonly Step[], baselineRssMB: number): string[] {
  const rows = [
    '| meetings | phone legs | calls | gateway cores (node + worker) | legs/core | tick p99 ms | tick max ms | loss % | gateway RSS MB | RSS/leg MB | client cores |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of steps) {
    rows.push(
      `| ${s.meetings} | ${s.legs} | ${s.calls} | ${s.gatewayCores.toFixed(2)} (${s.nodeCores.toFixed(2)} + ${s.workerCores.toFixed(2)}) | ${(s.legs / s.gatewayCores).toFixed(0)} | ${s.tickP99Ms.toFixed(2)} | ${s.tickMaxMs.toFixed(2)} | ${s.lossPct.toFixed(3)} | ${s.rssMB.toFixed(0)} | ${((s.rssMB - baselineRssMB) / s.legs).toFixed(3)} | ${s.clientCores.toFixed(2)} |`,
    );
  }
  return rows;
}

/** What one ramp (one gateway, one MEDIA_THREADS) reached. */
interface RampResult {
  readonly mediaThreads: number;
  readonly reported: Step;
  readonly legsPerCore: number;
  readonly rssPerLegMB: number;
}

async function main(): Promise<number> {
  const results: RampResult[] = [];
  for (const mediaThreads of MEDIA_THREAD_COUNTS) {
    const result = await ramp(mediaThreads);
    if (!result) return 1;
    results.push(result);
  }
  const last = results.at(-1)!;
  const legsWith = (threads: number) => results.find((r) => r.mediaThreads === threads)?.reported.legs;
  const one = legsWith(1);
  const two = legsWith(2);
  for (const r of results) log(`bench: MEDIA_THREADS=${r.mediaThreads}: ${r.reported.legs} legs, ${r.legsPerCore.toFixed(0)} legs/core, tick p99 ${r.reported.tickP99Ms.toFixed(2)} ms`);
  const scaling = one && two ? two / one : undefined;
  if (scaling !== undefined) log(`bench: scaling legs(2 threads)/legs(1 thread) = ${scaling.toFixed(2)}; target ≥ 1.8 ${scaling >= 1.8 ? 'MET' : 'NOT MET'}`);
  process.stdout.write(
    `${JSON.stringify({
      legs: last.reported.legs,
      legsPerCore: round(last.legsPerCore, 1),
      cpuCores: round(last.reported.gatewayCores, 2),
      tickLatenessP99Ms: round(last.reported.tickP99Ms, 2),
      lossPct: round(last.reported.lossPct, 3),
      rssPerLegMB: round(last.rssPerLegMB, 3),
      mediaThreads: last.mediaThreads,
      ...(one !== undefined && { legsWith1Thread: one }),
      ...(two !== undefined && { legsWith2Threads: two }),
      ...(scaling !== undefined && { scaling: round(scaling, 2) }),
      ...(IGNORE_TIMING && { timingIgnored: true }),
    })}\n`,
  );
  return 0;
}

/** One ramp on a fresh gateway with `mediaThreads` media threads; undefined when it failed. */
async function ramp(mediaThreads: number): Promise<RampResult | undefined> {
  gatewayErrorLines = 0;
  log(`bench: ${cpus().length} CPU cores on this machine; gateway with ${WORKERS} mediasoup worker(s) and ${mediaThreads} media thread(s); hold ${HOLD_SECONDS} s per step; gateway CPU limit ${CPU_LIMIT} cores; callers send in ${SEND_PHASES} phase(s) of the 20 ms frame`);
  const gateway = await startGatewayProcess(
    { MEDIASOUP_WORKERS: String(WORKERS), MEDIA_THREADS: String(mediaThreads) },
    (line) => {
      if (!line.startsWith('{') || /"level":(50|60)/.test(line)) gatewayErrorLines++;
      log(`[gateway] ${line}`);
    },
    CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : [],
    [],
    'built',
  );
  let bench: Bench | undefined;
  let ua: SipUserAgent | undefined;
  let signalled = false;
  const onSignal = (signal: string) => {
    if (signalled) {
      // A second signal: leave now (the exit hook still kills the gateway).
      log(`bench: ${signal} again, exiting at once`);
      process.exit(130);
    }
    signalled = true;
    log(`bench: ${signal}, stopping after the current step (again to exit at once)`);
    bench?.abort(`interrupted by ${signal}`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result: Awaited<ReturnType<Bench['run']>>;
  try {
    ua = await SipUserAgent.open({ host: '127.0.0.1', port: gateway.sipPort });
    bench = new Bench(gateway, ua);
    // Watched for the whole run, not awaited: exited only resolves, and abort() only records the reason.
    void gateway.exited.then(({ code, signal }) => bench?.abort(`the gateway exited (code ${code}, signal ${signal})`));
    result = await bench.run();
  } finally {
    await bench?.hangUpAll().catch((err: unknown) => log(`bench: hang-up failed: ${String(err)}`));
    await ua?.close();
    await gateway.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (CPU_PROF_DIR) log(`bench: the gateway's CPU profile is in ${CPU_PROF_DIR}`);
  }
  const { steps, baselineRssMB, stopReason } = result;
  log(`bench: stopped: ${stopReason}`);
  if (/exited|interrupted/.test(stopReason) || steps.length === 0) {
    log(`bench: FAILED: ${steps.length === 0 ? 'no step was measured' : stopReason}`);
    return undefined;
  }
  for (const row of markdownTable(steps, baselineRssMB)) log(row);
  const disturbed = steps.filter((s) => othersCores(s) > OTHERS_LIMIT);
  if (disturbed.length > 0) {
    log(`bench: WARNING: other processes used > ${OTHERS_LIMIT} cores during ${disturbed.length} of ${steps.length} steps: tick lateness and CPU may be off; run on an idle machine`);
  }
  const passing = steps.filter(passes);
  let reported = passing.at(-1);
  if (!reported) {
    reported = steps[0]!;
    log(`bench: NO step met the targets (tick p99 < ${TICK_P99_LIMIT_MS} ms, 0 % loss); reporting the first step`);
  }
  const legsPerCore = reported.legs / reported.gatewayCores;
  const rssPerLegMB = (reported.rssMB - baselineRssMB) / reported.legs;
  const first = steps[0]!;
  if (reported !== first) {
    // The first call costs more than the rest (code compiled, heap grown, the worker's first router).
    const marginal = (reported.rssMB - first.rssMB) / (reported.legs - first.legs);
    log(`bench: RSS from the first step to the reported one: ${marginal.toFixed(3)} MB per added leg (with its share of the talkers), noisy: RSS follows the garbage collector`);
  }
  log(
    `bench: reported step: ${reported.legs} legs (${reported.calls} calls) at ${reported.gatewayCores.toFixed(2)} gateway cores; ` +
      `targets: ≥ 300 legs/core ${legsPerCore >= 300 ? 'MET' : 'NOT MET'} (${legsPerCore.toFixed(0)}), ` +
      `tick p99 < 5 ms ${reported.tickP99Ms < TICK_P99_LIMIT_MS ? 'MET' : 'NOT MET'}, 0 % loss ${reported.lossPct === 0 ? 'MET' : 'NOT MET'}, ` +
      `< 1 MB RSS/leg ${rssPerLegMB < 1 ? 'MET' : 'NOT MET'}; client used ${reported.clientCores.toFixed(2)} cores`,
  );
  return { mediaThreads, reported, legsPerCore, rssPerLegMB };
}


main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`bench: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
