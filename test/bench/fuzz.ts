/**
 * Hostile input at volume: the fuzz tests' generators (test/support/fuzz/) run tens of
 * thousands of cases per family against a gateway in this process (embedded drachtio
 * stand-in, one mediasoup worker, memory store):
 * - sip: generated and mutated SIP messages over UDP and TCP to the SIP edge, each judged
 *   by RFC 3261 (test/support/fuzz/sip-wire.ts), then a probe that must still be answered;
 * - sipParser: the same messages through the stand-in's parser, request checks and framer;
 * - sdp: generated SDP as an offer (answered or refused 400/488) and as the answer to ours;
 * - signaling: generated frames over a WebSocket to a meeting;
 * - rest: generated requests to every HTTP route over HTTP.
 * Per family: cases, crashes (an exception other than the defined refusal, a gateway log
 * line at error, an uncaught exception), unhandledRejections, undefinedAnswers (a case
 * without a defined answer: see the wire runners) and slowestCaseMs. Afterwards a normal
 * call (digest, 200, ACK, BYE) must still work: healthyAfter.
 *
 * Result: ONE JSON line on stdout (`npm run -s bench:fuzz`); progress and the first few
 * problems of each family on stderr.
 * Knobs (environment): BENCH_FUZZ_CASES (10000 per family), BENCH_FUZZ_SEED (4475),
 * BENCH_FUZZ_FAMILIES (comma-separated, default all).
 */
import '../../src/media/use-worker-binary.js';
import { cpus, loadavg } from 'node:os';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { checkRequest } from '../../src/drachtio-standin/request-validation.js';
import { parseSipMessage } from '../../src/drachtio-standin/sip-message.js';
import { SipFramingError, SipStreamFramer } from '../../src/drachtio-standin/sip-stream-framer.js';
import { type Gateway, startGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/logger.js';
import { prepareAnswer } from '../../src/media/sdp/answer-offer.js';
import { acceptAnswer, createOffer } from '../../src/media/sdp/late-offer.js';
import { SdpError } from '../../src/media/sdp/sdp-error.js';
import { restRequest } from '../support/fuzz/rest-requests.js';
import { sdpBody } from '../support/fuzz/sdp-bodies.js';
import { signalingFrame } from '../support/fuzz/signaling-frames.js';
import { FUZZ_MEETING, type SipFuzzCase, renderSipCase, sipCase } from '../support/fuzz/sip-messages.js';
import { SipWireFuzzer, type WireOutcome } from '../support/fuzz/sip-wire.js';
import { SignalingWireFuzzer, runRestCase } from '../support/fuzz/web-wire.js';
import { PCMU_OFFER, SipCaller } from '../support/sip/sip-caller.js';
import { SipPeer, isFinalResponse, isResponse } from '../support/sip/sip-peer.js';
import { testConfig } from '../support/test-config.js';
import { until } from '../support/until.js';
import { foreignBusyPercent, selfCpuSeconds } from './support/machine-load.js';

const env = process.env;
const CASES = Number(env.BENCH_FUZZ_CASES ?? 10_000);
const SEED = Number(env.BENCH_FUZZ_SEED ?? 4475);
const FAMILIES = ['sip', 'sipParser', 'sdp', 'signaling', 'rest'] as const;
type Family = (typeof FAMILIES)[number];
const chosen = (env.BENCH_FUZZ_FAMILIES?.split(',') ?? [...FAMILIES]) as Family[];
/** Cases are generated this many at a time (a seed each), not all at once. */
const CHUNK = 500;
const SHOWN_PROBLEMS = 3;

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

/** Counts what the gateway logs at error (a handler that threw) while a family runs. */
class ErrorLines extends Writable {
  count = 0;
  readonly shown: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      if ((JSON.parse(line) as { level: number }).level < 50) continue;
      this.count++;
      if (this.shown.length < SHOWN_PROBLEMS) this.shown.push(line.slice(0, 400));
    }
    done();
  }
}

let unhandledRejections = 0;
let uncaughtExceptions = 0;
process.on('unhandledRejection', (reason) => {
  unhandledRejections++;
  say(`[bench:fuzz] unhandled rejection: ${String(reason).slice(0, 300)}`);
});
process.on('uncaughtException', (err) => {
  uncaughtExceptions++;
  say(`[bench:fuzz] uncaught exception: ${err.stack?.slice(0, 600)}`);
});

/** Generates `CASES` values of `arbitrary` in chunks and runs each, timing it. */
async function runFamily<T>(
  name: Family,
  arbitrary: fc.Arbitrary<T>,
  run: (value: T) => Promise<WireOutcome | 'unsendable'> | WireOutcome,
  errorLines: ErrorLines,
): Promise<FamilyResult> {
  const result: FamilyResult = { cases: 0, crashes: 0, unhandledRejections: 0, undefinedAnswers: 0, slowestCaseMs: 0, casesOver50Ms: 0 };
  const before = { rejections: unhandledRejections, uncaught: uncaughtExceptions, errors: errorLines.count };
  let unsendable = 0;
  const problems: string[] = [];
  for (let chunk = 0; result.cases < CASES; chunk++) {
    for (const value of fc.sample(arbitrary, { seed: SEED + chunk, numRuns: Math.min(CHUNK, CASES - result.cases) })) {
      let outcome: WireOutcome | 'unsendable';
      try {
        outcome = await run(value);
      } catch (err) {
        result.crashes++;
        if (problems.length < SHOWN_PROBLEMS) problems.push(`crash: ${(err as Error).stack?.slice(0, 400)}`);
        result.cases++;
        continue;
      }
      if (outcome === 'unsendable') {
        unsendable++;
        continue;
      }
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
  result.crashes += uncaughtExceptions - before.uncaught + errorLines.count - before.errors;
  result.unhandledRejections = unhandledRejections - before.rejections;
  result.slowestCaseMs = Math.round(result.slowestCaseMs * 100) / 100;
  if (unsendable > 0) result.unsendable = unsendable;
  for (const problem of [...problems, ...errorLines.shown.splice(0)]) say(`[bench:fuzz] ${name} problem: ${problem}`);
  return result;
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
    const parsed = parseSipMessage(bytes);
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

/** A call as a phone makes it: challenged, answered with credentials, ACKed and hung up. */
async function normalCall(gateway: Gateway, sip: { host: string; port: number }, identity: { username: string; password: string }): Promise<boolean> {
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
    return (await fetch(`${gateway.httpUrl}/readyz`)).status === 200;
  } catch (err) {
    say(`[bench:fuzz] the normal call after the fuzz failed: ${(err as Error).message}`);
    return false;
  } finally {
    await peer.close();
  }
}

async function main(): Promise<void> {
  const errorLines = new ErrorLines();
  const config = testConfig({ LOG_LEVEL: 'warn', RTP_MIN_PORT: '40000', RTP_MAX_PORT: '49999', MAX_PARTICIPANTS: '1000', TWILIO_AUTH_TOKEN: 'twilio-token-0123456789' });
  const gateway = await startGateway(config, createLogger('warn', errorLines));
  const loadAtStart = loadavg().map((l) => Number(l.toFixed(2)));
  const cpuAtStart = selfCpuSeconds();
  const wallAtStart = performance.now();
  const families: Partial<Record<Family, FamilyResult>> = {};
  let healthyAfter = false;
  let foreignBusy = 0;
  try {
    await until(async () => (await fetch(`${gateway.httpUrl}/readyz`)).status === 200, 10_000, 'the gateway to be ready');
    await gateway.meetings.create({ id: FUZZ_MEETING });
    await gateway.meetings.create({ id: 'healthy-room' });
    const identity = await gateway.sipCredentials.create({});
    const sip = gateway.sip.frontEnd.sipAddress!;
    say(`[bench:fuzz] gateway in-process at ${gateway.httpUrl}, SIP on ${sip.host}:${sip.port}; ${CASES} cases per family, seed ${SEED}`);
    // Other work on the machine, sampled for a second before the run (this process is idle then).
    foreignBusy = await foreignBusyPercent(1000, selfCpuSeconds);

    for (const family of chosen) {
      if (family === 'sip') {
        const fuzzer = await SipWireFuzzer.open(sip);
        try {
          families.sip = await runFamily('sip', sipCase, (value) => fuzzer.run(value), errorLines);
          families.sip.answered = fuzzer.tally.answered;
          families.sip.silent = fuzzer.tally.silent;
        } finally {
          await fuzzer.close();
        }
      } else if (family === 'sipParser') {
        families.sipParser = await runFamily('sipParser', sipCase, readSip, errorLines);
      } else if (family === 'sdp') {
        const offer = createOffer({ ip: '203.0.113.7', port: 40000 });
        families.sdp = await runFamily('sdp', sdpBody, (sdp) => answerSdp(offer, sdp), errorLines);
      } else if (family === 'signaling') {
        const fuzzer = new SignalingWireFuzzer(`${gateway.httpUrl.replace('http', 'ws')}/ws/meetings/${FUZZ_MEETING}`);
        try {
          families.signaling = await runFamily('signaling', signalingFrame, (frame) => fuzzer.run(frame), errorLines);
        } finally {
          await fuzzer.close();
        }
      } else {
        families.rest = await runFamily('rest', restRequest, (request) => runRestCase(gateway.httpUrl, request), errorLines);
      }
    }
    healthyAfter = await normalCall(gateway, sip, identity);
  } finally {
    await gateway.close();
  }
  const seconds = (performance.now() - wallAtStart) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      seed: SEED,
      casesPerFamily: CASES,
      families,
      healthyAfter,
      seconds: Math.round(seconds),
      machine: {
        cores: cpus().length,
        loadAvgAtStart: loadAtStart,
        loadAvgAtEnd: loadavg().map((l) => Number(l.toFixed(2))),
        otherWorkPercentBefore: Math.round(foreignBusy),
        benchCpuPercent: Math.round((100 * (selfCpuSeconds() - cpuAtStart)) / seconds),
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
