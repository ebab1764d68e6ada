/**
 * One-way delay through the gateway on loopback, end to end as people in a meeting hear it.
 *
 * The gateway runs in this process (latency, not CPU, is measured; the phones' media runs
 * in its media threads all the same, and in-process the bench can join the meeting as a
 * browser through the room, as the signalling would). Two SIP phones (PCMU) dial one
 * meeting, A and B; then a "browser" joins: a room member that consumes A through
 * RoomMember.consume, as a browser's consume request does (so A's relay to mediasoup is
 * switched on, as for a browser), on a PlainTransport to a socket of ours instead of
 * WebRTC, and that produces opus on a second PlainTransport. B sends silence throughout;
 * A and the browser send silence and, by turns, tone bursts (100 ms of 1 kHz, after a
 * stream restart at a random phase, so the bursts sample every offset between a sender's
 * packet clock and the mixer's 20 ms tick).
 *
 * - phoneToMeetingMs: a packet sent by phone A → the same packet at the browser's
 *   consumer (matched by a stamp in A's silence packets: μ-law 0xff and 0x7f both decode
 *   to 0, so 32 of them carry a sequence number in pure silence). Path: phone → media
 *   thread (relay) → mediasoup → consumer. Over every stamped packet.
 * - phoneToPhoneMs: the onset of A's burst → the onset heard in B's received audio. Path:
 *   phone → media thread (jitter buffer, decode, one mix tick, encode) → phone.
 * - meetingToPhoneMs: the onset of the browser's burst (opus, 48 kHz) → the onset heard at
 *   B. Path: browser → mediasoup → the meeting's transport to its media thread → mixer
 *   (jitter buffer, opus decode, tick, encode) → phone. It includes opus's own delay
 *   (the encoder's 6.5 ms look-ahead), as a browser's audio does.
 * An onset is the first sample louder than ONSET_LEVEL, timed as its packet's send or
 * arrival time plus its place in the packet, so the delay is that of the sound itself,
 * not of whole packets. Medians and p99 of the delays; one burst per source gives one
 * sample, hence BENCH_BURSTS bursts each (60).
 *
 * Result (last stdout line): {"phoneToMeetingMs":…,"phoneToMeetingP99Ms":…,
 *   "phoneToPhoneMs":…,"phoneToPhoneP99Ms":…,"meetingToPhoneMs":…,"meetingToPhoneP99Ms":…,
 *   "samples":{…},"missedBursts":{…},"machine":{"cores":…,"foreignCpuPercent":…,"loadAverage1m":…}}
 * foreignCpuPercent is what anything but this process and its mediasoup worker used during
 * the run (percent of one core); timer-driven delays grow when others load the machine.
 * Knobs: BENCH_BURSTS (60 per source), BENCH_QUIET_WAIT_S (180: how long to wait for a
 * quiet machine before running anyway).
 */
import '../../src/media/use-worker-binary.js';
import { Encoder as OpusEncoder } from '@evan/opus';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Gateway, startGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/logger.js';
import type { Room } from '../../src/media/room.js';
import { testConfig } from '../support/test-config.js';
import { pcmuTone } from '../support/rtp.js';
import { PCMU_OFFER } from '../support/sip/sip-caller.js';
import { until } from '../support/until.js';
import { requestJson } from '../support/json-api.js';
import { machineCpu, processCpuSeconds, selfCpuSeconds, waitForQuietMachine } from './support/machine-load.js';
import { PCMU_SILENCE, type ReceivedPacket, RtpPhone, every20ms } from './support/rtp-phone.js';
import { type Summary, formatSummary, ms2, summarize } from './support/sample-stats.js';
import { SipDialer } from './support/sip-dialer.js';

const BURSTS = Number(process.env.BENCH_BURSTS ?? 60);
/** How long the run waits at most for the rest of the machine to go quiet (s). */
const QUIET_WAIT_MS = Number(process.env.BENCH_QUIET_WAIT_S ?? 180) * 1000;
/** A burst of A's at the start of each cycle, one of the browser's half-way: each source is silent 600 ms between its bursts, so the mixer keeps it selected. */
const CYCLE_MS = 700;
const BURST_PACKETS = 5;
const TONE_HZ = 1000;
const AMPLITUDE = 12_000;
/** A sample this loud is the burst's onset; silence decodes to 0 (PCMU) or to a few units (opus). */
const ONSET_LEVEL = 2000;
const OPUS_RATE = 48_000;
const OPUS_PAYLOAD_TYPE = 111;
const PHONE_TO_MEETING_TARGET_MS = 2;
const MEETING_TO_PHONE_TARGET_MS = 30;

const say = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const quietReading = await waitForQuietMachine(say, { maxWaitMs: QUIET_WAIT_MS });
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
    await until(async () => (await fetch(`${gateway.httpUrl}/readyz`)).status === 200, 10_000, 'the gateway to be ready');
    const sip = gateway.sip.frontEnd.sipAddress!;
    say(`[bench:latency] gateway in-process at ${gateway.httpUrl}, SIP on udp ${sip.host}:${sip.port}; machine ${quietReading.toFixed(0)}% of a core busy before the run`);
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

/** A sender of 20 ms packets: silence, or packet k of a tone burst. */
interface Talker {
  silence(): void;
  /** Sends packet k of a burst; its send time and, for k = 0, where the onset is in it (ms from the packet's start). */
  tone(k: number): { at: number; onsetMs: number };
  /** Restarts the stream (sequence and timestamp jump), as a new talkspurt. */
  restart(): void;
}

interface BurstSent {
  readonly at: number;
  readonly onsetMs: number;
}

async function measure(gateway: Gateway, sip: { host: string; port: number }, cleanups: Array<() => Promise<unknown> | unknown>) {
  const meetingId = `latency-${Date.now().toString(36)}`;
  await api(gateway, 'POST', '/meetings', { id: meetingId });
  const credential = await api<{ username: string; password: string }>(gateway, 'POST', '/sip-credentials', { meetingId });
  const room = await gateway.rooms.room(meetingId);

  const dialer = await SipDialer.open(sip, { sockets: 1 });
  cleanups.push(() => dialer.close());
  const uri = `sip:${meetingId}@${sip.host}:${sip.port}`;
  const phoneA = await RtpPhone.open();
  const phoneB = await RtpPhone.open();
  cleanups.push(() => phoneA.close(), () => phoneB.close());
  const callA = await dialer.call(uri, credential, PCMU_OFFER(phoneA.port));
  cleanups.push(() => callA.hangUp());
  await until(() => room.producers().length === 1, 3000, 'phone A\'s producer');
  const producerA = room.producers()[0]!.producerId;
  const callB = await dialer.call(uri, credential, PCMU_OFFER(phoneB.port));
  cleanups.push(() => callB.hangUp());
  phoneA.sendTo(callA.mediaTarget);
  phoneB.sendTo(callB.mediaTarget);
  const silenceB = every20ms(() => (phoneB.send(PCMU_SILENCE), true));
  cleanups.push(() => silenceB.stop());

  const browser = await joinAsBrowser(room, producerA, cleanups);
  await until(async () => (await room.mixerCounts())?.talkers === 3, 5000, 'both phones and the browser in the mix');

  // Phone A: stamped silence, PCMU tone bursts.
  const stamps = new Map<number, number>();
  let nextStamp = 1;
  const talkerA: Talker = {
    silence: () => {
      const stamp = nextStamp++;
      stamps.set(stamp, phoneA.send(stampedSilence(stamp)).at);
    },
    tone: (k) => ({ at: phoneA.send(pcmuTone(TONE_HZ, k, AMPLITUDE)).at, onsetMs: onsetIndex(toneSamples(8000, 0)) / 8 }),
    restart: () => phoneA.jump(200),
  };

  const cycles = BURSTS;
  const startAt = performance.now() + 1000;
  const burstTimes = (offsetMs: number) => Array.from({ length: cycles }, (_, c) => startAt + c * CYCLE_MS + offsetMs + Math.random() * 20);
  say(`[bench:latency] ${cycles} bursts of ${BURST_PACKETS * 20} ms at ${TONE_HZ} Hz from phone A and from the browser, by turns every ${CYCLE_MS / 2} ms; ~${Math.round((cycles * CYCLE_MS) / 1000) + 2} s`);
  const machineBefore = machineCpu();
  const workers = mediasoupWorkerPids();
  const ownCpu = () => selfCpuSeconds() + workers.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
  const ownBefore = ownCpu();
  const wallBefore = performance.now();
  const [burstsA, burstsBrowser] = await Promise.all([talk(talkerA, burstTimes(0)), talk(browser.talker, burstTimes(CYCLE_MS / 2))]);
  await sleep(300);
  const machineAfter = machineCpu();
  const foreignCpuPercent = (100 * (machineAfter.busySeconds - machineBefore.busySeconds - (ownCpu() - ownBefore))) / ((performance.now() - wallBefore) / 1000);
  silenceB.stop();
  const mixer = await api(gateway, 'GET', '/mixer');

  const forwardMs: number[] = [];
  for (const packet of browser.ears.received) {
    const sentAt = stamps.get(readStamp(packet.payload));
    if (sentAt !== undefined) forwardMs.push(packet.at - sentAt);
  }
  const phoneToMeeting = summarize(forwardMs);
  const phoneToPhone = onsetDelays(burstsA, phoneB.received);
  const meetingToPhone = onsetDelays(burstsBrowser, phoneB.received);
  const line = (what: string, s: Summary) => say(`[bench:latency] ${what}: ${formatSummary(s)}`);
  line(`phone→meeting (A's packet sent → at the browser's consumer; ${phoneToMeeting.n} of ${stamps.size} stamped packets matched)`, phoneToMeeting);
  line(`phone→phone (A's burst onset → heard at B; ${phoneToPhone.missed} of ${cycles} bursts not heard)`, phoneToPhone.summary);
  line(`meeting→phone (the browser's burst onset → heard at B; ${meetingToPhone.missed} of ${cycles} bursts not heard)`, meetingToPhone.summary);
  say(`[bench:latency] other processes used ${foreignCpuPercent.toFixed(0)}% of a core during the run (${cpus().length} cores); GET /api/mixer: ${JSON.stringify(mixer)}`);
  const met = (value: number, target: number) => (value <= target ? 'met' : 'MISSED');
  say(
    `[bench:latency] targets: phone→meeting ≤ ${PHONE_TO_MEETING_TARGET_MS} ms: ${met(phoneToMeeting.p50, PHONE_TO_MEETING_TARGET_MS)}; ` +
      `meeting→phone ≤ ${MEETING_TO_PHONE_TARGET_MS} ms: ${met(meetingToPhone.summary.p50, MEETING_TO_PHONE_TARGET_MS)} (medians)`,
  );
  return {
    phoneToMeetingMs: ms2(phoneToMeeting.p50),
    phoneToMeetingP99Ms: ms2(phoneToMeeting.p99),
    phoneToPhoneMs: ms2(phoneToPhone.summary.p50),
    phoneToPhoneP99Ms: ms2(phoneToPhone.summary.p99),
    meetingToPhoneMs: ms2(meetingToPhone.summary.p50),
    meetingToPhoneP99Ms: ms2(meetingToPhone.summary.p99),
    samples: { phoneToMeeting: phoneToMeeting.n, phoneToPhone: phoneToPhone.summary.n, meetingToPhone: meetingToPhone.summary.n },
    missedBursts: { phoneToPhone: phoneToPhone.missed, meetingToPhone: meetingToPhone.missed },
    machine: { cores: cpus().length, foreignCpuPercent: Math.round(foreignCpuPercent), loadAverage1m: ms2(loadavg()[0]!) },
  };
}

/**
 * A browser as the room sees one, joined as the signalling would join it: a member that
 * consumes phone A (through RoomMember.consume, which switches A's relay to mediasoup on)
 * on a PlainTransport to `ears`, and produces opus on another, from `mouth`.
 */
async function joinAsBrowser(room: Room, producerA: string, cleanups: Array<() => Promise<unknown> | unknown>) {
  const member = room.admit({ id: 'bench-browser', displayName: 'bench browser', kind: 'browser' }, { notify: () => undefined, disconnect: () => undefined });
  cleanups.push(() => room.remove(member.id, 'bench over'));
  member.rtpCapabilities = room.router.rtpCapabilities;
  const ears = await RtpPhone.open();
  const mouth = await RtpPhone.open({ payloadType: OPUS_PAYLOAD_TYPE, timestampStep: OPUS_RATE / 50 });
  cleanups.push(() => ears.close(), () => mouth.close());

  const receiving = await room.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
  member.adopt(receiving);
  await receiving.connect({ ip: '127.0.0.1', port: ears.port });
  const consumer = await member.consume(receiving.id, producerA);
  await member.resume(consumer.id);

  const sending = await room.router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
  member.adopt(sending);
  await member.produce(sending.id, {
    codecs: [{ mimeType: 'audio/opus', clockRate: OPUS_RATE, channels: 2, payloadType: OPUS_PAYLOAD_TYPE, parameters: {} }],
    encodings: [{ ssrc: mouth.ssrc }],
  });
  mouth.sendTo({ host: '127.0.0.1', port: sending.tuple.localPort });

  // As a browser's: one encoder for the whole stream, at 48 kHz.
  const encoder = new OpusEncoder({ sample_rate: OPUS_RATE, channels: 1, application: 'voip' });
  const silence = new Int16Array(OPUS_RATE / 50);
  const talker: Talker = {
    silence: () => void mouth.send(encoder.encode(silence)),
    tone: (k) => {
      const payload = encoder.encode(toneSamples(OPUS_RATE, k));
      return { at: mouth.send(payload).at, onsetMs: onsetIndex(toneSamples(OPUS_RATE, 0)) / (OPUS_RATE / 1000) };
    },
    restart: () => mouth.jump(200),
  };
  return { ears, talker };
}

/**
 * Sends silence every 20 ms and, at each of `burstTimes`, a restart and a burst on a grid
 * that starts there; resolves with each burst's first packet.
 */
async function talk(talker: Talker, burstTimes: readonly number[]): Promise<BurstSent[]> {
  const bursts: BurstSent[] = [];
  let due = performance.now();
  const at = async (time: number) => sleep(Math.max(0, time - performance.now()));
  for (const start of burstTimes) {
    for (; due < start - 20; due += 20) {
      await at(due);
      talker.silence();
    }
    talker.restart();
    due = start;
    for (let k = 0; k < BURST_PACKETS; k++, due += 20) {
      await at(due);
      const sent = talker.tone(k);
      if (k === 0) bursts.push(sent);
    }
  }
  for (const end = due + 200; due < end; due += 20) {
    await at(due);
    talker.silence();
  }
  return bursts;
}

/** Each burst's onset → the first sample as loud at the listener (the packet's arrival plus the sample's place in it); bursts never heard are counted. */
function onsetDelays(bursts: readonly BurstSent[], heard: readonly ReceivedPacket[]): { summary: Summary; missed: number } {
  const delays: number[] = [];
  let missed = 0;
  for (const burst of bursts) {
    let delay: number | undefined;
    for (const packet of heard) {
      if (packet.at <= burst.at || packet.at > burst.at + 300) continue;
      const index = onsetIndex(packet.samples);
      if (index < 0) continue;
      delay = packet.at + index / 8 - (burst.at + burst.onsetMs);
      break;
    }
    if (delay === undefined) missed++;
    else delays.push(delay);
  }
  return { summary: summarize(delays), missed };
}

/** 20 ms of packet k of a burst at `rate`: the tone from phase 0 at the burst's start. */
function toneSamples(rate: number, k: number): Int16Array {
  const samples = new Int16Array(rate / 50);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(AMPLITUDE * Math.sin((2 * Math.PI * TONE_HZ * (k * samples.length + i)) / rate));
  return samples;
}

/** The first sample at least ONSET_LEVEL loud; −1 for none. */
function onsetIndex(samples: Int16Array): number {
  return samples.findIndex((s) => Math.abs(s) >= ONSET_LEVEL);
}

/** μ-law silence carrying `stamp` in its first 32 codes: 0x7f for a 1 bit, 0xff for a 0, both decoding to 0. */
function stampedSilence(stamp: number): Buffer {
  const payload = Buffer.from(PCMU_SILENCE);
  for (let bit = 0; bit < 32; bit++) if ((stamp >>> bit) & 1) payload[bit] = 0x7f;
  return payload;
}

/** The stamp of a stamped silence packet; 0 (no stamp) for anything else. */
function readStamp(payload: Buffer): number {
  if (payload.length !== PCMU_SILENCE.length) return 0;
  let stamp = 0;
  for (let bit = 0; bit < 32; bit++) {
    const code = payload[bit];
    if (code === 0x7f) stamp = (stamp | (1 << bit)) >>> 0;
    else if (code !== 0xff) return 0;
  }
  return payload.subarray(32).every((code) => code === 0xff) ? stamp : 0;
}

function api<T>(gateway: Gateway, method: string, path: string, body?: unknown): Promise<T> {
  return requestJson<T>(`${gateway.httpUrl}/api`, method, path, body);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`[bench:latency] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
