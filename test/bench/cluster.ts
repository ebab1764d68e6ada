/**
 * Several gateway nodes on one Redis, and what the SIP hand-off costs: for N = 1, 2, 3 nodes
 * (BENCH_NODES), each a child process with its embedded drachtio stand-in, calls are spread
 * over BENCH_MEETINGS meetings, each meeting hosted by one node (its first call claims it,
 * round robin over the nodes). Then calls are offered open-loop at BENCH_CPS for
 * BENCH_SECONDS, each to a meeting in turn and to a node at random, held BENCH_HOLD_MS and
 * hung up: a call that reaches a node other than its meeting's is authenticated there and
 * proxied to the owner (SIP_CLUSTER_MODE=proxy), the others are set up where they land.
 * Set-up time is from the INVITE with credentials to its 200 OK.
 *
 * Result (last stdout line): {"runs":{"<N>":{"legsCarried":max answered calls held at once,
 *   "setupsPerSecond":answered per second offered,"answered","failures",
 *   "direct":{"n","setupP50Ms","setupP99Ms"},"proxied":{…}}},
 *   "proxiedExtraP50Ms","proxiedExtraP99Ms"}: the extra set-up time of a proxied call, from
 *   the largest run with both kinds.
 * Knobs: BENCH_NODES (1,2,3), BENCH_CPS (40), BENCH_SECONDS (5), BENCH_HOLD_MS (2000),
 * BENCH_MEETINGS (12).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnRedisServer } from '../support/redis-server.js';
import { PCMU_OFFER } from '../support/sip/sip-caller.js';
import { ChildGateway } from './support/child-gateway.js';
import { ms2, quantile } from './support/sample-stats.js';
import { type DialedCall, SipDialer } from './support/sip-dialer.js';

const NODE_COUNTS = (process.env.BENCH_NODES ?? '1,2,3').split(',').map(Number);
const CPS = Number(process.env.BENCH_CPS ?? 40);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const HOLD_MS = Number(process.env.BENCH_HOLD_MS ?? 2000);
const MEETINGS = Number(process.env.BENCH_MEETINGS ?? 12);
const CLUSTER_SECRET = 'bench-cluster-secret-0123456789';
/** Each node's RTP range: apart, so nodes never contend for a port. */
const RTP_PORTS_PER_NODE = 3000;

const say = (line: string) => process.stderr.write(`${line}\n`);

interface Node {
  readonly gateway: ChildGateway;
  readonly dialer: SipDialer;
}

interface RunResult {
  readonly legsCarried: number;
  readonly setupsPerSecond: number;
  readonly answered: number;
  readonly failures: number;
  readonly direct: Latency;
  readonly proxied: Latency;
}

interface Latency {
  readonly n: number;
  readonly setupP50Ms: number;
  readonly setupP99Ms: number;
}

async function main(): Promise<void> {
  const redis = await spawnRedisServer();
  const runs: Record<string, RunResult> = {};
  try {
    for (const count of NODE_COUNTS) {
      runs[count] = await run(count, redis.url, `run${count}`);
      say(`[bench:cluster] ${count} node(s): ${JSON.stringify(runs[count])}`);
    }
  } finally {
    await redis.stop();
  }
  const withBoth = Object.values(runs).filter((r) => r.direct.n > 0 && r.proxied.n > 0).at(-1);
  process.stdout.write(
    `${JSON.stringify({
      runs,
      proxiedExtraP50Ms: withBoth ? ms2(withBoth.proxied.setupP50Ms - withBoth.direct.setupP50Ms) : null,
      proxiedExtraP99Ms: withBoth ? ms2(withBoth.proxied.setupP99Ms - withBoth.direct.setupP99Ms) : null,
    })}\n`,
  );
}

async function run(count: number, redisUrl: string, prefix: string): Promise<RunResult> {
  const nodes: Node[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const rtpMin = 40_000 + i * RTP_PORTS_PER_NODE;
      const gateway = await ChildGateway.start({
        env: {
          REDIS_URL: redisUrl,
          SIP_CLUSTER_SECRET: CLUSTER_SECRET,
          RTP_MIN_PORT: String(rtpMin),
          RTP_MAX_PORT: String(rtpMin + RTP_PORTS_PER_NODE - 1),
          // The bench sends no RTP: its calls must not end for silence.
          RTP_TIMEOUT_SECONDS: '0',
        },
      });
      nodes.push({ gateway, dialer: await SipDialer.open({ host: '127.0.0.1', port: gateway.sipPort }) });
    }
    const credential = await nodes[0]!.gateway.api<{ username: string; password: string }>('POST', '/sip-credentials', {});
    const meetings: string[] = [];
    const home = new Map<string, number>();
    for (let m = 0; m < MEETINGS; m++) {
      const meetingId = `${prefix}-m${m}`;
      await nodes[0]!.gateway.api('POST', '/meetings', { id: meetingId });
      // Its first call claims it for the node it reaches; that call stays up for the run.
      const owner = m % count;
      await dial(nodes[owner]!, meetingId, credential);
      meetings.push(meetingId);
      home.set(meetingId, owner);
    }

    const direct: number[] = [];
    const proxied: number[] = [];
    let answered = 0;
    let failures = 0;
    let held = 0;
    let legsCarried = 0;
    const calls: Array<Promise<void>> = [];
    const started = performance.now();
    for (let k = 0; k < CPS * SECONDS; k++) {
      const due = started + (k * 1000) / CPS;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const meetingId = meetings[k % meetings.length]!;
      const target = Math.floor(Math.random() * count);
      calls.push(
        dial(nodes[target]!, meetingId, credential).then(
          async (call) => {
            answered++;
            (target === home.get(meetingId) ? direct : proxied).push(call.setup.answeredAt - call.setup.authInviteAt);
            legsCarried = Math.max(legsCarried, ++held);
            await sleep(HOLD_MS);
            await call.hangUp().catch(() => 0);
            held--;
          },
          (err: Error) => {
            failures++;
            if (failures <= 5) say(`[bench:cluster] call failed: ${err.message}`);
          },
        ),
      );
    }
    await Promise.all(calls);
    return { legsCarried, setupsPerSecond: ms2(answered / SECONDS), answered, failures, direct: latency(direct), proxied: latency(proxied) };
  } finally {
    for (const node of nodes.reverse()) {
      await node.dialer.close();
      await node.gateway.stop();
    }
  }
}

function dial(node: Node, meetingId: string, credential: { username: string; password: string }): Promise<DialedCall> {
  return node.dialer.call(`sip:${meetingId}@127.0.0.1:${node.gateway.sipPort}`, credential, PCMU_OFFER(9));
}

function latency(samples: readonly number[]): Latency {
  return { n: samples.length, setupP50Ms: ms2(quantile(samples, 0.5)), setupP99Ms: ms2(quantile(samples, 0.99)) };
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench:cluster] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
