/**
 * Soak: calls arrive and leave for a long time, and afterwards nothing is left behind.
 * The gateway runs as a child process (embedded drachtio stand-in, one mediasoup worker)
 * on a private Redis (Debian redis-server on a free port, started and stopped here), with
 * a short RTP timeout. BENCH_SOAK_LEGS call slots each dial, hold a call for a random
 * time, end it and dial again, spread over meetings of BENCH_SOAK_PHONES_PER_MEETING
 * phones plus a share of one-phone meetings. Every answered call sends PCMU RTP every
 * 20 ms while up and must receive the meeting's mix. A call ends in one of three ways:
 * - bye: the caller hangs up with a BYE (most calls);
 * - cancel: the caller CANCELs right behind its INVITE with credentials (487 expected; when
 *   the 200 OK wins the race the call is ACKed and hung up, counted as answered-first);
 * - vanish: the caller stops its RTP and never sends a BYE; the gateway must end the call
 *   itself after RTP_TIMEOUT_SECONDS (its BYE is answered 200). The slot dials its next
 *   call at once; the vanished call is waited for in the background.
 *
 * When the churn is over, live calls are hung up, vanished ones waited for (RTP timeout +
 * BENCH_SOAK_VANISH_MARGIN_SECONDS), then BENCH_SOAK_SETTLE_SECONDS pass (emptied rooms
 * close after EMPTY_ROOM_GRACE_SECONDS) and what is left is counted against what was
 * there before the first call:
 * - mediasoup routers, transports, producers, consumers: GET /api/media (the gateway's
 *   media census);
 * - UDP sockets in the RTP port range held by the gateway and its mediasoup worker:
 *   /proc/<pid>/fd socket inodes joined with /proc/<pid>/net/udp and udp6;
 * - store entries under the gateway's key prefix: SCAN over gw:*, a hash counting its
 *   fields (calls and participants are hash fields); keys with an expiry (nonce counts,
 *   rate windows) expire by design and are reported apart, not as leaks, and so is the
 *   cluster's meeting-lease epoch counter (one key, made by the first lease, kept for good
 *   so that no epoch is issued twice);
 * - RSS of the gateway's Node process (VmRSS) after the warm-up vs 5 s before the end of
 *   the churn, both under the same load (every slot with its call), each read right after
 *   a full garbage collection of the main thread's heap (through the inspector, which the
 *   gateway runs with): read as it is, RSS also holds whatever garbage that heap has at
 *   the moment (up to 80 MB of 440 seen), which one reading counts as growth or not by
 *   chance. Both readings as they were are in the JSON too (rssMB).
 * failedCalls counts calls meant to be answered that were not (any answer but 200, or no
 * answer), calls that heard no RTP from the gateway while up (their mix never came), and
 * calls the gateway hung up on although the caller was still sending.
 *
 * Result: ONE JSON line on stdout (`npm run -s bench:soak` keeps npm's own lines off it);
 * progress and details on stderr.
 * Knobs (environment): BENCH_SOAK_SECONDS (600), BENCH_SOAK_LEGS (200),
 * BENCH_SOAK_PHONES_PER_MEETING (4), BENCH_SOAK_SOLO_SHARE (0.2 of the legs in one-phone
 * meetings), BENCH_SOAK_CALL_MIN_SECONDS (5), BENCH_SOAK_CALL_MAX_SECONDS (40),
 * BENCH_SOAK_CANCEL_SHARE (0.1), BENCH_SOAK_VANISH_SHARE (0.1), BENCH_SOAK_RTP_TIMEOUT_SECONDS
 * (5), BENCH_SOAK_WARMUP_SECONDS (a quarter of the run, at most 60),
 * BENCH_SOAK_SETTLE_SECONDS (10), BENCH_SOAK_VANISH_MARGIN_SECONDS (10), BENCH_SOAK_REDIAL_SECONDS
 * (5: a slot whose call failed waits this long before its next call, so failures do not
 * turn into a storm of retries), BENCH_SOAK_GATEWAY_LOG (a file: the gateway logs at info
 * there, to follow a call the bench names by its Call-ID), BENCH_SOAK_HEAP (1: the gateway runs
 * with the inspector; every 30 s its RSS (anonymous vs file-backed), main-thread V8 heap,
 * external and ArrayBuffer memory, each media thread's V8 heap and the main thread's
 * libuv handles and active resources by type are sampled (see support/gateway-memory.ts),
 * and again after the settle, before and after a full garbage collection; `snapshots`:
 * also a heap snapshot of the main thread before the first call and after the settle,
 * both idle, and the kinds of object that grew in between (see support/heap-census.ts):
 * what a leak leaves behind grows with the calls made. Writing a snapshot takes the
 * gateway's RSS up by about 140 MB at once, so that run's rssGrowthPct means nothing).
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { spawnRedisServer } from '../support/redis-server.js';
import { ChildGateway } from './support/child-gateway.js';
import { type GatewayMemory, gatewayMemory, writeGatewayHeapSnapshot } from './support/gateway-memory.js';
import { censusBytes, heapCensus, heapGrowth } from './support/heap-census.js';
import { InspectorProfiler } from './support/inspector-profiler.js';
import { processTree, rssMB } from './support/gateway-process.js';
import { PcmuPhone, SendClock } from './support/rtp-endpoints.js';
import { summarize } from './support/sample-stats.js';
import { CallFailed, type DialedCall, SipDialer } from './support/sip-dialer.js';

const env = process.env;
const num = (name: string, fallback: number) => Number(env[name] ?? fallback);
const SECONDS = num('BENCH_SOAK_SECONDS', 600);
const LEGS = num('BENCH_SOAK_LEGS', 200);
const PHONES_PER_MEETING = num('BENCH_SOAK_PHONES_PER_MEETING', 4);
const SOLO_SHARE = num('BENCH_SOAK_SOLO_SHARE', 0.2);
const CALL_MIN_MS = num('BENCH_SOAK_CALL_MIN_SECONDS', 5) * 1000;
const CALL_MAX_MS = num('BENCH_SOAK_CALL_MAX_SECONDS', 40) * 1000;
const CANCEL_SHARE = num('BENCH_SOAK_CANCEL_SHARE', 0.1);
const VANISH_SHARE = num('BENCH_SOAK_VANISH_SHARE', 0.1);
const RTP_TIMEOUT_SECONDS = num('BENCH_SOAK_RTP_TIMEOUT_SECONDS', 5);
const WARMUP_MS = num('BENCH_SOAK_WARMUP_SECONDS', Math.min(60, SECONDS / 4)) * 1000;
const SETTLE_MS = num('BENCH_SOAK_SETTLE_SECONDS', 10) * 1000;
const VANISH_MARGIN_MS = num('BENCH_SOAK_VANISH_MARGIN_SECONDS', 10) * 1000;
const GATEWAY_LOG = env.BENCH_SOAK_GATEWAY_LOG;
const HEAP_SNAPSHOTS = env.BENCH_SOAK_HEAP === 'snapshots';
const SAMPLE_HEAP = env.BENCH_SOAK_HEAP === '1' || HEAP_SNAPSHOTS;
const EMPTY_ROOM_GRACE_SECONDS = 2;
/** The end-of-churn RSS reading is taken this long before the churn ends, while every slot still has its call. */
const END_READING_BEFORE_MS = 5000;
/** Dialing starts spread over this long, so the first calls do not all arrive at once. */
const RAMP_MS = Math.min(30_000, WARMUP_MS);
/** A slot whose call failed waits this long before dialing again, as a person redialing would. */
const REDIAL_AFTER_FAILURE_MS = num('BENCH_SOAK_REDIAL_SECONDS', 5) * 1000;
/** Pause between a slot's calls: 0 to this long. */
const GAP_MAX_MS = 2000;
/** A call up at least this long must have heard RTP from the gateway. */
const AUDIO_JUDGED_AFTER_MS = 2000;
const RTP_MIN_PORT = 40_000;
const RTP_MAX_PORT = 49_999;
const KEY_PREFIX = 'gw:';
/** One key for the whole cluster, made by the first meeting lease and never removed (an epoch must never be issued twice). */
const LEASE_EPOCH_KEY = `${KEY_PREFIX}meeting-owner-epoch`;

const say = (line: string) => process.stderr.write(`[bench:soak] ${line}\n`);
const randomBetween = (min: number, max: number) => min + Math.random() * (max - min);

type Kind = 'bye' | 'cancel' | 'vanish';

interface Meeting {
  readonly id: string;
  readonly identity: { username: string; password: string };
}

/** Everything counted while the calls churn. */
class Tally {
  readonly made: Record<Kind, number> = { bye: 0, cancel: 0, vanish: 0 };
  readonly ended = {
    byCallerBye: 0,
    cancelled487: 0,
    cancelAnsweredFirst: 0,
    vanishedEndedByGateway: 0,
    vanishedNotEnded: 0,
  };
  readonly failures = new Map<string, number>();
  failedCalls = 0;
  audioMissing = 0;
  byeNot200 = 0;
  /** Calls meant to be cancelled that got neither 487 nor 200, by what they got. */
  readonly cancelErrors = new Map<string, number>();
  live = 0;
  maxLive = 0;
  /** Seconds from a vanished caller's last RTP to the gateway's BYE. */
  readonly vanishByeAfterS: number[] = [];
  /** The same for vanished calls that had a bench phone at the port just below theirs meanwhile. */
  readonly neighbouredByeAfterS: number[] = [];
  /** Call-IDs of vanished calls the gateway did not end in time. */
  readonly vanishedNotEndedCallIds: string[] = [];
  /** The gateway's RSS at every progress line (30 s), in MB. */
  readonly rssSeries: number[] = [];
  /** Where the gateway's memory is at the same moments (BENCH_SOAK_HEAP). */
  readonly memorySeries: GatewayMemory[] = [];
  /** The local ports of the bench's phones open now. */
  readonly phonePorts = new Set<number>();
  /** Vanished calls still waited for. */
  readonly vanishing = new Set<Promise<void>>();

  fail(reason: string): void {
    this.failedCalls++;
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }

  cancelError(reason: string): void {
    this.cancelErrors.set(reason, (this.cancelErrors.get(reason) ?? 0) + 1);
  }

  up(): void {
    this.live++;
    this.maxLive = Math.max(this.maxLive, this.live);
  }
}

async function main(): Promise<void> {
  const machine = { cores: cpus().length, loadAvgAtStart: loadavg().map((l) => Number(l.toFixed(2))) };
  say(`machine: ${machine.cores} cores, load average ${machine.loadAvgAtStart.join(' ')} (shared: other work competes with this run)`);
  const redis = await spawnRedisServer();
  let gateway: ChildGateway | undefined;
  let store: Redis | undefined;
  try {
    gateway = await ChildGateway.start({
      env: {
        REDIS_URL: redis.url,
        RTP_TIMEOUT_SECONDS: String(RTP_TIMEOUT_SECONDS),
        EMPTY_ROOM_GRACE_SECONDS: String(EMPTY_ROOM_GRACE_SECONDS),
        RTP_MIN_PORT: String(RTP_MIN_PORT),
        RTP_MAX_PORT: String(RTP_MAX_PORT),
        ...(GATEWAY_LOG ? { LOG_LEVEL: 'info' } : {}),
      },
      ...(GATEWAY_LOG ? { logFile: GATEWAY_LOG } : {}),
      // For a full garbage collection before each RSS reading that rssGrowthPct compares.
      inspect: true,
    });
    store = new Redis(redis.url, { lazyConnect: true });
    await store.connect();
    say(`gateway pid ${gateway.pid} at ${gateway.httpUrl}, SIP udp 127.0.0.1:${gateway.sipPort}, Redis ${redis.url}, RTP_TIMEOUT_SECONDS=${RTP_TIMEOUT_SECONDS}`);
    const result = await soak(gateway, store);
    process.stdout.write(`${JSON.stringify({ ...result, machine: { ...machine, loadAvgAtEnd: loadavg().map((l) => Number(l.toFixed(2))) } })}\n`);
  } finally {
    store?.disconnect();
    await gateway?.stop();
    await redis.stop();
  }
}

async function soak(gateway: ChildGateway, store: Redis) {
  const soloLegs = Math.round(LEGS * SOLO_SHARE);
  const groupMeetings = Math.ceil((LEGS - soloLegs) / PHONES_PER_MEETING);
  const meetings = await createMeetings(gateway, groupMeetings + soloLegs);
  // Slot i's meeting: the group meetings take PHONES_PER_MEETING slots each, the rest one each.
  const slotMeeting = (slot: number) =>
    slot < LEGS - soloLegs ? meetings[Math.floor(slot / PHONES_PER_MEETING)]! : meetings[groupMeetings + (slot - (LEGS - soloLegs))]!;
  say(
    `${LEGS} call slots over ${groupMeetings} meetings of up to ${PHONES_PER_MEETING} phones and ${soloLegs} one-phone meetings; ` +
      `calls live ${CALL_MIN_MS / 1000}-${CALL_MAX_MS / 1000} s; ${Math.round(CANCEL_SHARE * 100)}% CANCEL, ${Math.round(VANISH_SHARE * 100)}% vanish, the rest BYE; ` +
      `${SECONDS} s of churn, warm-up ${WARMUP_MS / 1000} s`,
  );

  const inspector = await InspectorProfiler.connect(gateway.inspectorUrl!);
  const snapshotPath = (when: string) => join(tmpdir(), `bench-soak-${process.pid}-${when}.heapsnapshot`);
  let memoryBefore: GatewayMemory | undefined;
  if (SAMPLE_HEAP) {
    if (HEAP_SNAPSHOTS) await writeGatewayHeapSnapshot(inspector, snapshotPath('before'));
    memoryBefore = await gatewayMemory(inspector, gateway.pid);
    say(`before: gateway memory ${JSON.stringify(memoryBefore)}${HEAP_SNAPSHOTS ? `; heap snapshot ${snapshotPath('before')}` : ''}`);
  }
  const before = { media: await mediaCounts(gateway), ports: rtpPorts(gateway.pid, gateway.sipPort), store: await storeEntries(store) };
  say(`before: media ${JSON.stringify(before.media)}, ${before.ports} RTP-range UDP sockets, ${before.store.entries} store entries (${before.store.expiring} expiring keys)`);

  const dialer = await SipDialer.open({ host: '127.0.0.1', port: gateway.sipPort }, { sockets: 8, timeoutMs: 16_000 });
  const clock = new SendClock(4);
  clock.start();
  const tally = new Tally();
  const startedAt = performance.now();
  const churnEndsAt = startedAt + SECONDS * 1000;
  let stopping = false;
  const stopped = new Promise<void>((resolve) => setTimeout(() => ((stopping = true), resolve()), SECONDS * 1000));

  /** The RSS as it is, and what is left of it once the main thread's heap is collected (what the gateway holds). */
  const readRss = async (): Promise<RssReading> => {
    const instant = rssMB(gateway.pid);
    await inspector.collectGarbage();
    return { instant: round1(instant), afterGc: round1(rssMB(gateway.pid)) };
  };
  let rssAfterWarmup: RssReading | undefined;
  let rssEndOfChurn: RssReading | undefined;
  const warmupTimer = setTimeout(() => {
    void readRss().then((reading) => {
      rssAfterWarmup = reading;
      say(`warm-up over: ${tally.live} live calls, gateway RSS ${reading.instant} MB, ${reading.afterGc} MB after a full GC`);
    });
  }, WARMUP_MS);
  // Still under the churn's load, before the calls are hung up at its end.
  const endOfChurnTimer = setTimeout(() => {
    void readRss().then((reading) => {
      rssEndOfChurn = reading;
      say(`end of the churn: ${tally.live} live calls, gateway RSS ${reading.instant} MB, ${reading.afterGc} MB after a full GC`);
    });
  }, Math.max(WARMUP_MS, SECONDS * 1000 - END_READING_BEFORE_MS));
  const progress = setInterval(() => {
    const elapsed = Math.round((performance.now() - startedAt) / 1000);
    const rss = rssMB(gateway.pid);
    tally.rssSeries.push(round1(rss));
    if (inspector) {
      void gatewayMemory(inspector, gateway.pid).then(
        (memory) => tally.memorySeries.push(memory),
        (err: unknown) => say(`memory sample failed: ${(err as Error).message}`),
      );
    }
    say(
      `${elapsed} s: ${tally.live} live, made ${JSON.stringify(tally.made)}, failed ${tally.failedCalls} ${JSON.stringify(Object.fromEntries(tally.failures))}, ` +
        `gateway RSS ${rss.toFixed(1)} MB, load ${loadavg()[0]!.toFixed(2)}`,
    );
  }, 30_000);

  const target = (meeting: Meeting) => `sip:${meeting.id}@127.0.0.1:${gateway.sipPort}`;

  const pickKind = (): Kind => {
    const r = Math.random();
    return r < CANCEL_SHARE ? 'cancel' : r < CANCEL_SHARE + VANISH_SHARE ? 'vanish' : 'bye';
  };

  /** One call of the given kind; false when it failed (not answered, no audio, cut off by the gateway). */
  const oneCall = async (meeting: Meeting, kind: Kind): Promise<boolean> => {
    tally.made[kind]++;
    const phone = await PcmuPhone.open();
    const phonePort = phone.port;
    tally.phonePorts.add(phonePort);
    const closePhone = () => {
      tally.phonePorts.delete(phonePort);
      phone.close();
    };
    if (kind === 'cancel') {
      try {
        const result = await dialer.callAndCancel(target(meeting), meeting.identity, phone.offer());
        if (result.outcome === 'cancelled') tally.ended.cancelled487++;
        else {
          tally.ended.cancelAnsweredFirst++;
          if (result.byeStatus !== 200 && result.byeStatus !== 0) tally.byeNot200++;
        }
      } catch (err) {
        tally.cancelError(err instanceof CallFailed && err.status ? `answered ${err.status}` : (err as Error).message.replace(/\d+ ms/, 'N ms'));
      } finally {
        closePhone();
      }
      return true;
    }
    let call: DialedCall;
    try {
      call = await dialer.call(target(meeting), meeting.identity, phone.offer());
    } catch (err) {
      closePhone();
      tally.fail(err instanceof CallFailed && err.status ? `answered ${err.status}` : (err as Error).message.replace(/\d+ ms/, 'N ms'));
      return false;
    }
    tally.up();
    const target_ = call.mediaTarget;
    await phone.connect(target_.host, target_.port);
    clock.add(phone);
    const answeredAt = performance.now();
    const lifetime = randomBetween(CALL_MIN_MS, CALL_MAX_MS);
    const hungUp = call.hungUpByGateway.then(() => 'gateway' as const);
    const ending = await Promise.race([sleep(lifetime).then(() => 'time' as const), stopped.then(() => 'stop' as const), hungUp]);
    const upMs = performance.now() - answeredAt;
    const heard = upMs < AUDIO_JUDGED_AFTER_MS || phone.packetsReceived > 0;
    if (!heard) tally.fail('no RTP from the gateway while up');
    if (ending === 'gateway') {
      clock.remove(phone);
      closePhone();
      tally.live--;
      if (heard) tally.fail('hung up by the gateway while the caller was sending');
      return false;
    }
    if (kind === 'vanish' && ending === 'time') {
      // Stop sending and never BYE; the slot goes on while the gateway's BYE is awaited.
      clock.remove(phone);
      const silentAt = performance.now();
      // Another phone just below the call's port: the gateway sends that phone's RTCP (no rtcp-mux) to our port.
      let neighbourSeen = tally.phonePorts.has(target_.port - 1);
      const neighbourWatch = setInterval(() => (neighbourSeen ||= tally.phonePorts.has(target_.port - 1)), 500);
      const waited = Promise.race([hungUp, sleep(RTP_TIMEOUT_SECONDS * 1000 + VANISH_MARGIN_MS).then(() => 'timeout' as const)]).then((how) => {
        clearInterval(neighbourWatch);
        closePhone();
        tally.live--;
        if (how === 'gateway') {
          tally.ended.vanishedEndedByGateway++;
          tally.vanishByeAfterS.push((performance.now() - silentAt) / 1000);
          if (neighbourSeen) tally.neighbouredByeAfterS.push((performance.now() - silentAt) / 1000);
        } else {
          tally.ended.vanishedNotEnded++;
          tally.vanishedNotEndedCallIds.push(`${call.setup.callId} (port ${target_.port}${neighbourSeen ? ', a phone at the port below' : ''})`);
        }
      });
      tally.vanishing.add(waited);
      void waited.then(() => tally.vanishing.delete(waited));
      return heard;
    }
    clock.remove(phone);
    const status = await call.hangUp().catch(() => -1);
    closePhone();
    tally.live--;
    tally.ended.byCallerBye++;
    if (status !== 200) tally.byeNot200++;
    return heard;
  };

  const slot = async (index: number): Promise<void> => {
    await sleep((RAMP_MS * index) / LEGS);
    const meeting = slotMeeting(index);
    while (!stopping && performance.now() < churnEndsAt) {
      const ok = await oneCall(meeting, pickKind());
      if (!stopping) await sleep(ok ? randomBetween(0, GAP_MAX_MS) : REDIAL_AFTER_FAILURE_MS);
    }
  };

  await Promise.all(Array.from({ length: LEGS }, (_, i) => slot(i)));
  const churnSeconds = (performance.now() - startedAt) / 1000;
  clearTimeout(warmupTimer);
  clearTimeout(endOfChurnTimer);
  rssEndOfChurn ??= await readRss();
  clearInterval(progress);
  say(`churn over after ${churnSeconds.toFixed(0)} s; waiting for ${tally.vanishing.size} vanished calls to be ended by the gateway`);
  await Promise.all([...tally.vanishing]);
  clock.stop();
  await dialer.close();
  say(`settling ${SETTLE_MS / 1000} s (emptied rooms close after ${EMPTY_ROOM_GRACE_SECONDS} s)`);
  await sleep(SETTLE_MS);

  const after = { media: await mediaCounts(gateway), ports: rtpPorts(gateway.pid, gateway.sipPort), store: await storeEntries(store) };
  const rssAfterSettle = rssMB(gateway.pid);
  const heap = memoryBefore ? await heapAfterSettle(inspector, gateway.pid, memoryBefore, snapshotPath) : undefined;
  inspector.close();
  const newEntries = after.store.list.filter((entry) => !before.store.list.includes(entry));
  say(`after: media ${JSON.stringify(after.media)}, ${after.ports} RTP-range UDP sockets, ${after.store.entries} store entries (${after.store.expiring} expiring keys)`);
  if (newEntries.length > 0) say(`store entries left behind (first 10): ${newEntries.slice(0, 10).join(', ')}`);
  for (const [reason, count] of tally.failures) say(`failed: ${count} × ${reason}`);
  for (const [reason, count] of tally.cancelErrors) say(`cancelled calls that failed otherwise: ${count} × ${reason}`);
  if (tally.ended.vanishedNotEnded > 0) {
    say(
      `${tally.ended.vanishedNotEnded} vanished calls were never ended by the gateway (no BYE within RTP_TIMEOUT_SECONDS + ${VANISH_MARGIN_MS / 1000} s): ` +
        `their media and store entries are counted as leaks below; Call-IDs: ${tally.vanishedNotEndedCallIds.slice(0, 10).join(', ')}`,
    );
  }
  if (tally.neighbouredByeAfterS.length > 0) {
    const neighboured = summarize(tally.neighbouredByeAfterS);
    say(
      `${tally.neighbouredByeAfterS.length} vanished calls ended by the gateway had a phone at the port just below theirs meanwhile ` +
        `(the gateway's RTCP for that phone, which has no rtcp-mux, goes to its port + 1): their BYE came ${neighboured.p50.toFixed(1)} s (p50), ${neighboured.max.toFixed(1)} s (max) after their last packet`,
    );
  }
  const warmRss = rssAfterWarmup ?? rssEndOfChurn;
  const cpu = gateway.cpu();
  const vanishBye = summarize(tally.vanishByeAfterS);

  return {
    bench: 'soak',
    leakedTransports: after.media.transports - before.media.transports,
    leakedConsumers: after.media.consumers - before.media.consumers,
    leakedProducers: after.media.producers - before.media.producers,
    leakedRouters: after.media.routers - before.media.routers,
    leakedPorts: after.ports - before.ports,
    leakedStoreKeys: after.store.entries - before.store.entries,
    rssGrowthPct: Number(((100 * (rssEndOfChurn.afterGc - warmRss.afterGc)) / warmRss.afterGc).toFixed(1)),
    failedCalls: tally.failedCalls,
    failures: Object.fromEntries(tally.failures),
    callsMade: { ...tally.made, total: tally.made.bye + tally.made.cancel + tally.made.vanish },
    callsEnded: tally.ended,
    byeNot200: tally.byeNot200,
    cancelErrors: Object.fromEntries(tally.cancelErrors),
    vanishByeAfterS: tally.vanishByeAfterS.length ? { p50: Number(vanishBye.p50.toFixed(1)), max: Number(vanishBye.max.toFixed(1)) } : null,
    seconds: Number(churnSeconds.toFixed(0)),
    legsTarget: LEGS,
    concurrencyReached: tally.maxLive,
    meetings: { ofUpTo: PHONES_PER_MEETING, groups: groupMeetings, solo: soloLegs },
    rtpTimeoutSeconds: RTP_TIMEOUT_SECONDS,
    rssMB: { afterWarmup: warmRss, endOfChurn: rssEndOfChurn, afterSettle: round1(rssAfterSettle), every30s: tally.rssSeries },
    ...(heap ? { memoryMB: { every30s: tally.memorySeries, ...heap.memory }, ...(heap.growth && { heapSnapshotGrowth: heap.growth }) } : {}),
    mediaAfter: after.media,
    storeExpiringKeysAfter: after.store.expiring,
    gatewayCpuSeconds: { node: round1(cpu.gatewaySeconds), workers: round1(cpu.workerSeconds) },
    sendClockSkippedFrames: clock.skipped,
  };
}

const round1 = (n: number) => Number(n.toFixed(1));

/** The gateway's RSS at one moment and right after a full garbage collection of its main thread's heap, MB. */
interface RssReading {
  readonly instant: number;
  readonly afterGc: number;
}

/**
 * The gateway idle again after the churn: its memory as it is, and after a full garbage
 * collection (what RSS gives back then was garbage, not a leak); a heap snapshot, and the
 * kinds of object that grew since the one before the first call.
 */
async function heapAfterSettle(inspector: InspectorProfiler, pid: number, memoryBefore: GatewayMemory, snapshotPath: (when: string) => string) {
  const afterSettle = await gatewayMemory(inspector, pid);
  await inspector.collectGarbage();
  const afterGc = await gatewayMemory(inspector, pid);
  say(`after: gateway memory ${JSON.stringify(afterSettle)}; after a full GC ${JSON.stringify(afterGc)}`);
  if (!HEAP_SNAPSHOTS) return { memory: { before: memoryBefore, afterSettle, afterGc } };
  await writeGatewayHeapSnapshot(inspector, snapshotPath('after'));
  const censusBefore = heapCensus(snapshotPath('before'));
  const censusAfter = heapCensus(snapshotPath('after'));
  const growth = heapGrowth(censusBefore, censusAfter);
  say(`heap snapshots (main thread, idle) ${snapshotPath('before')} and ${snapshotPath('after')}; grown most in number:`);
  for (const kind of growth.byCount) say(`  ${kind.countDelta > 0 ? '+' : ''}${kind.countDelta} × ${kind.kind} (${kind.before} → ${kind.after}, ${kind.bytesDelta} bytes)`);
  return {
    memory: { before: memoryBefore, afterSettle, afterGc },
    growth: {
      snapshotMB: { before: round1(censusBytes(censusBefore) / 2 ** 20), after: round1(censusBytes(censusAfter) / 2 ** 20) },
      byCount: growth.byCount.slice(0, 10),
      byBytes: growth.byBytes.slice(0, 10),
    },
  };
}

async function createMeetings(gateway: ChildGateway, count: number): Promise<Meeting[]> {
  const run = Date.now().toString(36);
  const meetings: Meeting[] = [];
  for (let i = 0; i < count; i++) {
    const id = `soak-${run}-${i}`;
    await gateway.api('POST', '/meetings', { id });
    const credential = await gateway.api<{ username: string; password: string }>('POST', '/sip-credentials', { meetingId: id });
    meetings.push({ id, identity: { username: credential.username, password: credential.password } });
  }
  return meetings;
}

interface MediaCounts {
  readonly workers: number;
  readonly routers: number;
  readonly transports: number;
  readonly producers: number;
  readonly consumers: number;
}

const mediaCounts = (gateway: ChildGateway) => gateway.api<MediaCounts>('GET', '/media');

/**
 * UDP sockets bound to a port in the RTP range held by the gateway's Node process or its
 * mediasoup worker(s): their fd socket inodes joined with /proc/<pid>/net/udp and udp6.
 * The SIP port is left out (a free port picked at random, it may fall in the range).
 */
function rtpPorts(gatewayPid: number, sipPort: number): number {
  let count = 0;
  for (const pid of processTree(gatewayPid)) {
    const inodes = new Set<string>();
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.add(match[1]!);
      } catch {
        // Closed meanwhile.
      }
    }
    for (const table of ['udp', 'udp6']) {
      let text = '';
      try {
        text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields.length < 10) continue;
        const port = Number.parseInt(fields[1]!.split(':')[1]!, 16);
        if (port >= RTP_MIN_PORT && port <= RTP_MAX_PORT && port !== sipPort && inodes.has(fields[9]!)) count++;
      }
    }
  }
  return count;
}

/**
 * What the gateway keeps in Redis under its prefix, as a list of entries: a key, or for a
 * hash each of its fields (call records and participants are hash fields). Keys with an
 * expiry are counted apart: they go away by themselves. The lease epoch counter is left
 * out: the first call makes it, and it stays by design, however many calls follow.
 */
async function storeEntries(redis: Redis): Promise<{ entries: number; expiring: number; list: string[] }> {
  const list: string[] = [];
  let expiring = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${KEY_PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      if (key === LEASE_EPOCH_KEY) continue;
      const ttlMs = await redis.pttl(key);
      // -2: it expired since the SCAN saw it (a nonce count reaching its end), so it is gone.
      if (ttlMs === -2) continue;
      if (ttlMs > 0) {
        expiring++;
        continue;
      }
      if ((await redis.type(key)) === 'hash') for (const field of await redis.hkeys(key)) list.push(`${key}#${field}`);
      else list.push(key);
    }
  } while (cursor !== '0');
  return { entries: list.length, expiring, list };
}

main().catch((err: unknown) => {
  say(`failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
