/**
 * Added one-way delay through the gateway on loopback.
 *
 * The gateway runs in this process (latency, not CPU, is measured, and in-process the
 * meeting side can be watched with mediasoup consumers of our own). Two SIP phones (PCMU)
 * dial one meeting. Phone A sends 20 ms packets: silence, and now and then a burst of
 * five packets, each a tone of its own frequency; phone B sends silence and receives the
 * meeting's mix.
 *
 * - phoneToMeetingMs: phone A's packet sent → the same packet (matched by RTP timestamp)
 *   leaving mediasoup on a DirectTransport consumer of A's producer, which is what the
 *   browsers' consumers get: phone → relay → PlainTransport → router, no transcoding.
 *   Median over every packet A sends.
 * - meetingToPhoneMs: a burst packet sent by A → the mix carrying it arriving at phone B
 *   (the packet is identified by its tone). That path is phone → relay → mediasoup →
 *   mixer (jitter buffer, decode, mix, encode) → mediasoup → relay → phone: the
 *   meeting→phone delay plus the forwarding above. Median over every burst packet B hears.
 *   Before each burst A restarts its stream at a random phase, so the bursts sample every
 *   offset between the phone's packet clock and the mixer's 20 ms tick.
 *
 * stderr also breaks the second path down with consumers of our own on the mixer legs'
 * producers (when the mixer sent the mix), says how many burst onsets the mixer dropped,
 * and shows GET /api/mixer. Result (last stdout line):
 *   {"phoneToMeetingMs":A,"meetingToPhoneMs":B}
 * Knobs: BENCH_BURSTS (40, after 400 ms of silence each: BENCH_SILENCE_MS),
 * BENCH_ONSET_BURSTS (6, after 3 s of silence each, to see how talkspurt onsets fare).
 */
import '../../src/media/use-worker-binary.js';
import type { types } from 'mediasoup';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Gateway, startGateway } from '../../src/gateway.js';
import { g711Decode } from '../../src/media/codecs/g711.js';
import { readRtp } from '../../src/media/rtp-packet.js';
import { createLogger } from '../../src/logger.js';
import { testConfig } from '../support/test-config.js';
import { pcmuTone } from '../support/rtp.js';
import { PCMU_OFFER } from '../support/sip/sip-caller.js';
import { until } from '../support/until.js';
import { requestJson } from '../support/json-api.js';
import { waitForQuietMachine } from './support/machine-load.js';
import { PCMU_SILENCE, type ReceivedPacket, RtpPhone, type SentPacket, every20ms, rms, zeroCrossings } from './support/rtp-phone.js';
import { formatSummary, ms2, summarize } from './support/sample-stats.js';
import { type DialedCall, SipDialer } from './support/sip-dialer.js';

const BURSTS = Number(process.env.BENCH_BURSTS ?? 40);
/** Silence before each of those bursts: short enough that the mixer keeps the talker selected. */
const SILENCE_MS = Number(process.env.BENCH_SILENCE_MS ?? 400);
/** Then bursts after a long silence (the mixer has let the talker go): onsets. */
const ONSET_BURSTS = Number(process.env.BENCH_ONSET_BURSTS ?? 6);
const ONSET_SILENCE_MS = 3000;
/** The five packets of a burst: tones told apart by their zero crossings (2·f/50 per 20 ms). */
const BURST_HZ = [400, 800, 1200, 1600, 2000] as const;
const BURST_AMPLITUDE = 12_000;
/** A received frame louder than this (RMS) carries a burst; silence decodes to exactly 0. */
const LOUD_RMS = 500;
const PHONE_TO_MEETING_TARGET_MS = 2;
const MEETING_TO_PHONE_TARGET_MS = 30;

const say = (line: string) => process.stderr.write(`${line}\n`);

interface Seen {
  readonly at: number;
  readonly timestamp: number;
  readonly samples?: Int16Array;
}

async function main(): Promise<void> {
  await waitForQuietMachine(say);
  const log = createLogger('warn', process.stderr);
  const config = testConfig({
    LOG_LEVEL: 'warn',
    SIP_DIGEST_ALGORITHMS: 'MD5',
    RTP_MIN_PORT: '40000',
    RTP_MAX_PORT: '49999',
    MAX_PARTICIPANTS: '1000',
  });
  const gateway = await startGateway(config, log);
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  try {
    await waitReady(gateway);
    const sip = gateway.sip.frontEnd.sipAddress!;
    say(`[bench:latency] gateway in-process at ${gateway.httpUrl}, SIP on udp ${sip.host}:${sip.port}, one mediasoup worker`);
    const result = await measure(gateway, sip, cleanups);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    const workers = mediasoupWorkerPids();
    await gateway.close();
    // The worker exits just after close(); waiting for it keeps it from outliving us as an orphan.
    await until(() => workers.every((pid) => !existsSync(`/proc/${pid}`)), 3000, 'the mediasoup worker to exit').catch(() => undefined);
  }
}

/** This process's mediasoup worker processes. */
function mediasoupWorkerPids(): number[] {
  const children = readdirSync('/proc/self/task').flatMap((task) =>
    readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
  return children.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('mediasoup');
    } catch {
      return false;
    }
  });
}

async function measure(
  gateway: Gateway,
  sip: { host: string; port: number },
  cleanups: Array<() => Promise<unknown> | unknown>,
): Promise<{ phoneToMeetingMs: number; meetingToPhoneMs: number }> {
  const meetingId = `latency-${Date.now().toString(36)}`;
  await api(gateway, 'POST', '/meetings', { id: meetingId });
  const credential = await api<{ username: string; password: string }>(gateway, 'POST', '/sip-credentials', { meetingId });

  // Open the room first, so we see the mixer's transport and its leg producers appear.
  const room = await gateway.rooms.room(meetingId);
  const legProducers: types.Producer[] = [];
  room.router.observer.on('newtransport', (transport) => {
    if (transport.type !== 'direct') return;
    transport.observer.on('newproducer', (producer) => legProducers.push(producer));
  });
  const watcher = await room.router.createDirectTransport();
  cleanups.push(() => watcher.close());

  const dialer = await SipDialer.open(sip, { sockets: 1 });
  cleanups.push(() => dialer.close());
  const uri = `sip:${meetingId}@${sip.host}:${sip.port}`;
  const phoneA = await RtpPhone.open();
  const phoneB = await RtpPhone.open();
  cleanups.push(() => phoneA.close(), () => phoneB.close());

  const callA = await dialer.call(uri, credential, PCMU_OFFER(phoneA.port));
  cleanups.push(() => callA.hangUp());
  const producerA = room.producerEntries()[0]!.producer;
  const callB = await dialer.call(uri, credential, PCMU_OFFER(phoneB.port));
  cleanups.push(() => callB.hangUp());
  for (const [name, call] of [['A', callA], ['B', callB]] as Array<[string, DialedCall]>) {
    say(`[bench:latency] phone ${name} answered in ${(call.setup.answeredAt - call.setup.authInviteAt).toFixed(1)} ms; sends to ${call.mediaTarget.host}:${call.mediaTarget.port}`);
  }
  phoneA.sendTo(callA.mediaTarget);
  phoneB.sendTo(callB.mediaTarget);

  // What leaves mediasoup for the meeting (browsers' consumers get the same): A's producer.
  const forwarded = new Map<number, Seen>();
  const consumerA = await watcher.consume({ producerId: producerA.id, rtpCapabilities: room.router.rtpCapabilities });
  consumerA.on('rtp', (packet: Buffer) => {
    const at = performance.now();
    const view = readRtp(packet);
    if (view && !forwarded.has(view.timestamp)) forwarded.set(view.timestamp, { at, timestamp: view.timestamp });
  });
  // What the mixer sends to each leg, before mediasoup and the relay take it to the phone.
  await until(() => legProducers.length >= 2, 3000, 'two mixer legs');
  const legOutput = new Map<string, Seen[]>();
  for (const producer of legProducers) {
    const seen: Seen[] = [];
    legOutput.set(producer.id, seen);
    const consumer = await watcher.consume({ producerId: producer.id, rtpCapabilities: room.router.rtpCapabilities });
    consumer.on('rtp', (packet: Buffer) => {
      const at = performance.now();
      const view = readRtp(packet);
      if (view) seen.push({ at, timestamp: view.timestamp, samples: g711Decode('PCMU', view.payload) });
    });
  }

  // B talks silence throughout; A: silence, then bursts, each after a restart at a random phase.
  const silenceB = every20ms(() => (phoneB.send(PCMU_SILENCE), true));
  cleanups.push(() => silenceB.stop());
  const bursts: Burst[] = [];
  const plan = planFor(BURSTS, ONSET_BURSTS);
  say(
    `[bench:latency] phone A: ${plan.filter((s) => s !== 'shift').length} packets: ${BURSTS} bursts after ${SILENCE_MS} ms of silence and ` +
      `${ONSET_BURSTS} after ${ONSET_SILENCE_MS} ms, each of ${BURST_HZ.length} packets (tones ${BURST_HZ.join('/')} Hz) and after a stream restart at a random phase; ` +
      `~${Math.round(plan.length * 0.02)} s`,
  );
  let due = performance.now();
  let toneFrame = 0;
  let silentFor = 0;
  for (const step of plan) {
    if (step === 'shift') {
      // A new talkspurt from a "new" sender: sequence and timestamp jump, and a random phase.
      phoneA.jump(200);
      due += Math.random() * 20;
      continue;
    }
    await sleep(Math.max(0, due - performance.now()));
    due += 20;
    if (step === 'silence') {
      phoneA.send(PCMU_SILENCE);
      silentFor += 20;
    } else {
      if (step === 0) bursts.push({ afterSilenceMs: silentFor, packets: [] });
      bursts.at(-1)!.packets.push(phoneA.send(pcmuTone(BURST_HZ[step]!, toneFrame++, BURST_AMPLITUDE), step));
      silentFor = 0;
    }
  }
  await sleep(300);
  silenceB.stop();
  const mixer = await api(gateway, 'GET', '/mixer');

  // phone → meeting: every packet A sent, to the moment mediasoup forwarded it.
  const forwardMs: number[] = [];
  for (const sent of phoneA.sent) {
    const seen = forwarded.get(sent.timestamp);
    if (seen) forwardMs.push(seen.at - sent.at);
  }
  const forwardSummary = summarize(forwardMs);
  say(`[bench:latency] phone→meeting (A's packet sent → forwarded by mediasoup to a consumer): ${forwardSummary.n} of ${phoneA.sent.length} packets matched; ${formatSummary(forwardSummary)}`);

  // meeting → phone: each burst's loud packets at B, identified by tone.
  const legOfB = [...legOutput.entries()].find(([, seen]) => seen.some((p) => p.samples && rms(p.samples) > LOUD_RMS));
  const heard = analyseBursts(bursts.filter((b) => b.afterSilenceMs < ONSET_SILENCE_MS), phoneB.received, legOfB?.[1] ?? [], forwarded);
  const onsets = analyseBursts(bursts.filter((b) => b.afterSilenceMs >= ONSET_SILENCE_MS), phoneB.received, legOfB?.[1] ?? [], forwarded);
  const allDelays = [...heard.packetDelays, ...onsets.packetDelays];
  const packetSummary = summarize(allDelays);
  say(`[bench:latency] meeting→phone, per heard burst packet (A sent → B received the mix carrying it): ${formatSummary(packetSummary)}`);
  say(`  the ${heard.bursts} bursts after ${SILENCE_MS} ms of silence (talker still selected by the mixer):`);
  say(`    A sent → B received:                                     ${formatSummary(summarize(heard.packetDelays))}`);
  say(`    of which A sent → mediasoup forwarded it:               ${formatSummary(summarize(heard.toForward))}`);
  say(`    forwarded → the mixer sent the mix (seen on a consumer): ${formatSummary(summarize(heard.toMixerOut))}`);
  say(`    the mixer sent it → B received it:                      ${formatSummary(summarize(heard.toPhone))}`);
  say(`    first burst packet sent → first loud packet at B:       ${formatSummary(summarize(heard.onsetDelays))}`);
  say(`    ${describeHeard(heard)}`);
  say(`  the ${onsets.bursts} bursts after ${ONSET_SILENCE_MS} ms of silence (talkspurt onsets):`);
  say(`    A sent → B received:                                     ${formatSummary(summarize(onsets.packetDelays))}`);
  say(`    first burst packet sent → first loud packet at B:       ${formatSummary(summarize(onsets.onsetDelays))}`);
  say(`    ${describeHeard(onsets)}`);
  if (onsets.firstHeardIndex[0]! < onsets.heardBursts) {
    say(
      '    note: an onset burst whose first packet is never heard lost 20 ms in the mixer. After about 2 s of silence the talker\'s loudness (falling by 1 per 20 ms tick from 127 minus its ' +
        'RFC 6464 level) has decayed to 0, so the tick does not select it, and MixerInput.pass() consumes (drops) the packet that is due, undecoded, in the very tick ' +
        'whose level would have selected it; the talker is mixed from the next packet on.',
    );
  }
  if (heard.missing.length > 0) {
    say(
      `    note: burst packets not heard after short silences (burst #, packet: forwarded how many ms before the next tick's mix came out): ` +
        `${heard.missing.slice(0, 12).map(([b, k, lead]) => `#${b}/${k}: ${lead.toFixed(2)}`).join(', ')}` +
        ` (burst #0 is an onset too: the talker had never been loud before it). The heard ones, for comparison: ${formatSummary(summarize(heard.leads))}`,
    );
  }
  say(`  GET /api/mixer after the run: ${JSON.stringify(mixer)}`);
  const phoneToMeetingMs = ms2(forwardSummary.p50);
  const meetingToPhoneMs = ms2(packetSummary.p50);
  say(
    `[bench:latency] targets: phone→meeting ≤ ${PHONE_TO_MEETING_TARGET_MS} ms: ${phoneToMeetingMs <= PHONE_TO_MEETING_TARGET_MS ? 'met' : 'MISSED'} (${phoneToMeetingMs} ms median, p99 ${forwardSummary.p99.toFixed(2)}); ` +
      `meeting→phone ≤ ${MEETING_TO_PHONE_TARGET_MS} ms: ${meetingToPhoneMs <= MEETING_TO_PHONE_TARGET_MS ? 'met' : 'MISSED'} (${meetingToPhoneMs} ms median, p99 ${packetSummary.p99.toFixed(2)})`,
  );
  return { phoneToMeetingMs, meetingToPhoneMs };
}

type Step = 'silence' | 'shift' | number;

interface Burst {
  readonly afterSilenceMs: number;
  readonly packets: SentPacket[];
}

/**
 * 1 s of silence; per burst a restart, silence, five tone packets, 200 ms of silence;
 * first `bursts` after SILENCE_MS, then `onsetBursts` after ONSET_SILENCE_MS.
 */
function planFor(bursts: number, onsetBursts: number): Step[] {
  const plan: Step[] = Array(50).fill('silence');
  const burst = (silenceMs: number) =>
    plan.push('shift', ...Array<Step>(Math.round(silenceMs / 20)).fill('silence'), ...BURST_HZ.map((_, k) => k), ...Array<Step>(10).fill('silence'));
  for (let b = 0; b < bursts; b++) burst(SILENCE_MS);
  for (let b = 0; b < onsetBursts; b++) burst(ONSET_SILENCE_MS);
  return plan;
}

function describeHeard(h: ReturnType<typeof analyseBursts>): string {
  return (
    `${h.bursts} bursts, ${h.heardBursts} heard; burst packets heard: ${h.packetDelays.length} of ${h.bursts * BURST_HZ.length}; ` +
    `first packet heard: ${h.firstHeardIndex.map((count, k) => `packet ${k} in ${count}`).join(', ')}`
  );
}

function analyseBursts(bursts: readonly Burst[], atB: readonly ReceivedPacket[], legOfB: readonly Seen[], forwarded: Map<number, Seen>) {
  const packetDelays: number[] = [];
  const onsetDelays: number[] = [];
  const toForward: number[] = [];
  const toMixerOut: number[] = [];
  const toPhone: number[] = [];
  const firstHeardIndex = BURST_HZ.map(() => 0);
  /** Missing burst packets: burst index, packet index, how long before the next tick's output A's packet was forwarded. */
  const missing: Array<[number, number, number]> = [];
  const leads: number[] = [];
  const allLeg = legOfB;
  /** How long after `at` the mixer's next output (any packet of B's leg) came out. */
  const leadToNextTick = (at: number) => (allLeg.find((p) => p.at > at)?.at ?? Number.NaN) - at;
  let heardBursts = 0;
  const loudAtB = atB.filter((p) => rms(p.samples) > LOUD_RMS);
  const loudLeg = legOfB.filter((p) => p.samples && rms(p.samples) > LOUD_RMS);
  for (const [index, { packets: burst }] of bursts.entries()) {
    const start = burst[0]!.at;
    const window = (p: { at: number }) => p.at > start && p.at < start + 400;
    const heard = loudAtB.filter(window);
    const mixed = loudLeg.filter(window);
    const tones = new Set<number>();
    let first = true;
    for (const packet of heard) {
      const k = toneIndex(packet.samples);
      const sent = burst.find((s) => s.tag === k);
      // A repeat of a tone is the mixer concealing a missing packet with the last one.
      if (!sent || tones.has(k)) continue;
      tones.add(k);
      packetDelays.push(packet.at - sent.at);
      if (first) {
        onsetDelays.push(packet.at - start);
        firstHeardIndex[k]!++;
        heardBursts++;
        first = false;
      }
      const fwd = forwarded.get(sent.timestamp);
      if (fwd) leads.push(leadToNextTick(fwd.at));
      const out = mixed.filter((m) => m.at <= packet.at + 1 && toneIndex(m.samples!) === k).at(-1);
      if (fwd && out) {
        toForward.push(fwd.at - sent.at);
        toMixerOut.push(out.at - fwd.at);
        toPhone.push(packet.at - out.at);
      }
    }
    for (let k = 0; k < BURST_HZ.length; k++) {
      if (tones.has(k)) continue;
      const fwd = forwarded.get(burst.find((s) => s.tag === k)!.timestamp);
      missing.push([index, k, fwd ? leadToNextTick(fwd.at) : Number.NaN]);
    }
  }
  return { bursts: bursts.length, heardBursts, missing, leads, packetDelays, onsetDelays, toForward, toMixerOut, toPhone, firstHeardIndex };
}

/** Which burst packet a 20 ms frame carries, by its tone's zero crossings (2·f/50). */
function toneIndex(samples: Int16Array): number {
  const crossings = zeroCrossings(samples);
  let best = 0;
  for (let k = 1; k < BURST_HZ.length; k++) {
    if (Math.abs(crossings - (2 * BURST_HZ[k]!) / 50) < Math.abs(crossings - (2 * BURST_HZ[best]!) / 50)) best = k;
  }
  return best;
}

function api<T>(gateway: Gateway, method: string, path: string, body?: unknown): Promise<T> {
  return requestJson<T>(`${gateway.httpUrl}/api`, method, path, body);
}

async function waitReady(gateway: Gateway): Promise<void> {
  await until(async () => (await fetch(`${gateway.httpUrl}/readyz`)).status === 200, 10_000, 'the gateway to be ready');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`[bench:latency] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
