/**
 * The node's Prometheus metrics (prom-client, prefix gateway_), read by GET /metrics.
 * Nothing below imports this module: the SIP side and the calls report to it through
 * their observer ports (SipObserver, CallObserver), the HTTP app times its requests, and
 * everything else is read from snapshots when Prometheus scrapes: the media threads'
 * counters (one request per thread per scrape, no per-packet traffic), the mediasoup
 * workers' CPU, admission, rooms, live calls. No label carries a call or meeting id:
 * labels take a fixed set of values (codec, status, reason, direction, route).
 */
import type { types } from 'mediasoup';
import { Counter, Gauge, Histogram, type MetricType, Registry, collectDefaultMetrics } from 'prom-client';
import type { CallMedia, CallObserver, CallSignaling, CallState, CallSummary } from '../calls/call.js';
import { type CallEnd, Q850 } from '../calls/call-end.js';
import { type LatenessCounts, TICK_LATENESS_BOUNDS_MS } from '../media/mixer/lateness-histogram.js';
import type { MediaPlaneTotals } from '../media/plane/media-plane.js';
import type { DirectionQuality } from '../media/quality/call-quality.js';
import type { SipGuardCounters } from '../sip/guard/sip-guard.js';
import type { InviteOutcome, SipObserver } from '../sip/sip-observer.js';

/** The media of a call as the metrics read it (PhoneMedia). */
export interface MeasuredMedia extends CallMedia {
  readonly codec: string | undefined;
  firstRtpAt(): number | undefined;
}

/** A live call as the metrics read it. */
export interface MeasuredCall {
  readonly state: CallState;
  readonly startedAt: number;
  readonly media: MeasuredMedia | undefined;
}

/** What the metrics read when scraped. */
export interface MetricsSources {
  /** The calls this node holds. */
  calls(): Iterable<MeasuredCall>;
  /** Call admission: set-ups in flight, INVITEs refused with 503 by reason. */
  admission(): { readonly setupsInFlight: number; readonly refused: Readonly<Record<string, number>> };
  /** Meetings open on this node, and their participants by kind. */
  meetings(): { readonly open: number; readonly participants: Readonly<Record<string, number>> };
  /** The media threads' counters. */
  media(): Promise<MediaPlaneTotals>;
  /** The mediasoup workers running. */
  mediasoupWorkers(): readonly types.Worker[];
  /** A Redis round trip (PING); absent without Redis. */
  redisPing?(): Promise<void>;
  /** What the SIP guard has done on this node (bans, drops, failures); absent before SIP runs. */
  sipGuard(): SipGuardCounters | undefined;
  /** What became of this node's webhooks, by outcome; absent without WEBHOOK_URL. */
  webhookOutcomes?(): Readonly<Record<string, number>>;
}

/** camelCase counter names as label values: droppedBanned → dropped_banned. */
const snakeCase = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

const SETUP_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const JITTER_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16];
const LOSS_BUCKETS = [0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5];
const MOS_BUCKETS = [1.5, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.4];
const ROUND_TRIP_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8];
const HTTP_BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const REDIS_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];
const REDIS_PING_TIMEOUT_MS = 1000;

type Direction = 'from_phone' | 'to_phone';

/**
 * A histogram whose counts come whole from a snapshot (the media threads count tick
 * lateness into buckets themselves), rather than from observations made here.
 */
class SnapshotHistogram extends Histogram {
  private readonly config: { readonly name: string; readonly help: string };

  constructor(
    config: { name: string; help: string; registers: Registry[] },
    private readonly boundsSeconds: readonly number[],
    private readonly read: () => Promise<LatenessCounts>,
  ) {
    super({ ...config, buckets: [...boundsSeconds] });
    this.config = config;
  }

  override get(): ReturnType<Histogram['get']> {
    return this.snapshot();
  }

  /** What the registry reads for the text format, in place of get(). */
  getForPromString(): ReturnType<Histogram['get']> {
    return this.snapshot();
  }

  private async snapshot(): ReturnType<Histogram['get']> {
    const counts = await this.read();
    const { name, help } = this.config;
    const bounds = [...this.boundsSeconds.map(String), '+Inf'];
    return {
      name,
      help,
      // prom-client's own histograms say 'histogram' here, whatever its typings' enum claims.
      type: 'histogram' as unknown as MetricType,
      aggregator: 'sum',
      collect: () => undefined,
      values: [
        ...bounds.map((le, i) => ({ metricName: `${name}_bucket`, labels: { le }, value: counts.buckets[i] ?? 0 })),
        { metricName: `${name}_sum`, labels: {}, value: counts.sumMs / 1000 },
        { metricName: `${name}_count`, labels: {}, value: counts.count },
      ],
    };
  }
}

/** Sets a counter to a total counted elsewhere (a snapshot), keeping its type: the total only grows. */
function setCounter<T extends string>(counter: Counter<T>, total: number, labels?: Partial<Record<T, string>>): void {
  if (labels) {
    counter.remove(labels);
    counter.inc(labels, total);
  } else {
    counter.reset();
    counter.inc(total);
  }
}

/**
 * The process's own metrics (CPU, memory, event loop, GC): prom-client starts observers for
 * them that are never stopped, so they are set up once per process, however many gateways
 * it starts (the tests start many), and each gateway's scrape includes them.
 */
let processMetrics: Registry | undefined;
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics, prefix: 'gateway_' });
  }
  return processMetrics;
}

export class GatewayMetrics implements SipObserver, CallObserver<CallSignaling, MeasuredMedia> {
  private readonly registry = new Registry();
  private readonly invitesReceived: Counter;
  private readonly invitesChallenged: Counter;
  private readonly invitesAccepted: Counter;
  private readonly invitesRejected: Counter<'status'>;
  private readonly digestFailures: Counter<'reason'>;
  private readonly answerSeconds: Histogram;
  private readonly firstRtpSeconds: Histogram;
  private readonly callsEnded: Counter<'ended_by' | 'reason'>;
  private readonly callJitter: Histogram<'direction'>;
  private readonly callLoss: Histogram<'direction'>;
  private readonly callMos: Histogram<'direction'>;
  private readonly callRoundTrip: Histogram;
  private readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  /** Calls whose first RTP has been observed. */
  private readonly firstRtpSeen = new WeakSet<MeasuredCall>();
  /** One read of the media threads per scrape, shared by every metric fed from it. */
  private mediaRead: Promise<MediaPlaneTotals> | undefined;

  constructor(private readonly sources: MetricsSources) {
    const registers = [this.registry];
    const metrics = this;

    // SIP
    this.invitesReceived = new Counter({ name: 'gateway_sip_invites_received_total', help: 'INVITEs that start a call, as received', registers });
    this.invitesChallenged = new Counter({ name: 'gateway_sip_invites_challenged_total', help: 'INVITEs answered 401 with a digest challenge', registers });
    this.invitesAccepted = new Counter({ name: 'gateway_sip_invites_accepted_total', help: 'INVITEs answered 200 OK', registers });
    this.invitesRejected = new Counter({
      name: 'gateway_sip_invites_rejected_total',
      help: 'INVITEs refused with a final response other than 200 and a 401 challenge, by status (487 after a CANCEL)',
      labelNames: ['status'],
      registers,
    });
    this.digestFailures = new Counter({
      name: 'gateway_sip_digest_failures_total',
      help: 'INVITEs whose digest credentials did not authenticate, by reason',
      labelNames: ['reason'],
      registers,
    });
    new Counter({
      name: 'gateway_sip_invites_shed_total',
      help: 'INVITEs refused with 503 before any work, by reason (overloaded, draining)',
      labelNames: ['reason'],
      registers,
      collect() {
        for (const [reason, count] of Object.entries(sources.admission().refused)) setCounter(this, count, { reason });
      },
    });
    new Gauge({
      name: 'gateway_call_setups_in_flight',
      help: 'Call set-ups under way: INVITE received, call not yet answered and running',
      registers,
      collect() {
        this.set(sources.admission().setupsInFlight);
      },
    });
    this.answerSeconds = new Histogram({
      name: 'gateway_call_setup_answer_seconds',
      help: 'From an INVITE to our 200 OK',
      buckets: SETUP_BUCKETS_S,
      registers,
    });
    this.firstRtpSeconds = new Histogram({
      name: 'gateway_call_setup_first_rtp_seconds',
      help: "From an INVITE to the phone's first RTP packet",
      buckets: SETUP_BUCKETS_S,
      registers,
      collect() {
        for (const call of sources.calls()) metrics.observeFirstRtp(call);
      },
    });
    new Gauge({
      name: 'gateway_calls_active',
      help: 'Answered calls on this node, by codec',
      labelNames: ['codec'],
      registers,
      collect() {
        const byCodec = new Map<string, number>();
        for (const call of sources.calls()) {
          if (call.state !== 'answered') continue;
          const codec = call.media?.codec ?? 'unknown';
          byCodec.set(codec, (byCodec.get(codec) ?? 0) + 1);
        }
        this.reset();
        for (const [codec, count] of byCodec) this.set({ codec }, count);
      },
    });
    this.callsEnded = new Counter({
      name: 'gateway_calls_ended_total',
      help: 'Answered calls that ended, by who ended them and why (caller BYE; drachtio; the Q.850 cause of our BYE)',
      labelNames: ['ended_by', 'reason'],
      registers,
    });

    // Per-call quality, observed once per answered call as it ends.
    const byDirection = { labelNames: ['direction'] as const, registers };
    this.callJitter = new Histogram({ name: 'gateway_call_jitter_seconds', help: 'RFC 3550 interarrival jitter of each call as it ended, by direction', buckets: JITTER_BUCKETS_S, ...byDirection });
    this.callLoss = new Histogram({ name: 'gateway_call_loss_ratio', help: 'Packets lost over each call, 0-1, by direction', buckets: LOSS_BUCKETS, ...byDirection });
    this.callMos = new Histogram({
      name: 'gateway_call_mos',
      help: 'Estimated MOS (ITU-T G.107 E-model, simplified) of each call as it ended, by direction; G.711 calls only',
      buckets: MOS_BUCKETS,
      ...byDirection,
    });
    this.callRoundTrip = new Histogram({ name: 'gateway_call_round_trip_seconds', help: 'RTCP round-trip time of each call as it ended', buckets: ROUND_TRIP_BUCKETS_S, registers });

    // Media
    const packetCounters = [
      ['gateway_phone_packets_received_total', 'RTP packets received from phones', 'received'],
      ['gateway_phone_packets_sent_total', 'RTP packets sent to phones', 'sent'],
      ['gateway_phone_packets_lost_total', "Phones' RTP packets that never arrived (RFC 3550 cumulative loss)", 'lost'],
      ['gateway_phone_packets_late_total', "Phones' RTP packets that came too late for the mixer's jitter buffer", 'late'],
      ['gateway_phone_frames_concealed_total', "20 ms frames the mixer concealed for phones' missing packets", 'concealed'],
    ] as const;
    for (const [name, help, key] of packetCounters) {
      new Counter({
        name,
        help,
        registers,
        async collect() {
          setCounter(this, (await metrics.readMedia()).phonePackets[key]);
        },
      });
    }
    new SnapshotHistogram(
      { name: 'gateway_mixer_tick_lateness_seconds', help: "How late the mixers' 20 ms ticks ran", registers },
      TICK_LATENESS_BOUNDS_MS.map((ms) => ms / 1000),
      async () => (await this.readMedia()).tickLateness,
    );
    new Counter({
      name: 'gateway_media_thread_cpu_seconds_total',
      help: 'CPU time of each media thread (by index; a replaced thread continues its predecessor)',
      labelNames: ['thread'],
      registers,
      async collect() {
        const { threadCpuMs } = await metrics.readMedia();
        threadCpuMs.forEach((ms, index) => setCounter(this, ms / 1000, { thread: String(index) }));
      },
    });
    new Gauge({
      name: 'gateway_rtp_ports_in_use',
      help: "Phones' RTP ports open on this node",
      registers,
      async collect() {
        this.set((await metrics.readMedia()).ports);
      },
    });
    new Gauge({
      name: 'gateway_mediasoup_worker_cpu_seconds',
      help: 'CPU time of each mediasoup worker process since it started (by index in the pool; restarts at 0 with a replaced worker)',
      labelNames: ['worker'],
      registers,
      async collect() {
        const usages = await Promise.all(sources.mediasoupWorkers().map((worker) => worker.getResourceUsage().catch(() => undefined)));
        this.reset();
        usages.forEach((usage, index) => {
          if (usage) this.set({ worker: String(index) }, (usage.ru_utime + usage.ru_stime) / 1000);
        });
      },
    });

    // The SIP guard: read from its own counts when scraped.
    new Counter({
      name: 'gateway_sip_guard_events_total',
      help:
        'What the SIP guard did, by event: dropped_rate_limited, dropped_banned, bans, scanner_bans, auth_failures, ' +
        'slowed_authentications, spent_nonce_retries, setups_refused_per_source, setups_refused_per_credential, store_errors',
      labelNames: ['event'],
      registers,
      collect() {
        const { requestsHeld: _held, ...counts } = sources.sipGuard() ?? {};
        this.reset();
        for (const [event, count] of Object.entries(counts)) this.inc({ event: snakeCase(event) }, count);
      },
    });
    new Gauge({
      name: 'gateway_sip_requests_held',
      help: "Dropped requests whose 408 is held back until the sender's transaction has given up",
      registers,
      collect() {
        this.set(sources.sipGuard()?.requestsHeld ?? 0);
      },
    });

    const { webhookOutcomes } = sources;
    if (webhookOutcomes) {
      new Counter({
        name: 'gateway_webhook_deliveries_total',
        help: 'Webhooks by outcome: delivered, retrying (an attempt failed, another is due), rejected (a 4xx gave it up), expired (undelivered after 24 h), dropped (never queued)',
        labelNames: ['outcome'],
        registers,
        collect() {
          for (const [outcome, count] of Object.entries(webhookOutcomes())) setCounter(this, count, { outcome });
        },
      });
    }

    // Meetings
    new Gauge({
      name: 'gateway_meetings_active',
      help: 'Meetings with a room open on this node',
      registers,
      collect() {
        this.set(sources.meetings().open);
      },
    });
    new Gauge({
      name: 'gateway_participants',
      help: 'Participants in the meetings open on this node, by kind (browser, phone)',
      labelNames: ['kind'],
      registers,
      collect() {
        for (const [kind, count] of Object.entries(sources.meetings().participants)) this.set({ kind }, count);
      },
    });

    // HTTP and Redis
    this.httpDuration = new Histogram({
      name: 'gateway_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_BUCKETS_S,
      registers,
    });
    const { redisPing } = sources;
    if (redisPing) {
      new Histogram({
        name: 'gateway_redis_round_trip_seconds',
        help: 'Redis PING round trips, one per scrape',
        buckets: REDIS_BUCKETS_S,
        registers,
        async collect() {
          const started = performance.now();
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, REDIS_PING_TIMEOUT_MS)));
          // An unanswered PING is observed at the timeout: the round trip was at least that long.
          await Promise.race([redisPing().catch(() => undefined), timeout]);
          clearTimeout(timer);
          this.observe((performance.now() - started) / 1000);
        },
      });
    }
  }

  /** The text Prometheus scrapes. */
  async text(): Promise<string> {
    try {
      return await Registry.merge([processRegistry(), this.registry]).metrics();
    } finally {
      this.mediaRead = undefined;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** One HTTP request; `route` is the route's pattern (never its filled-in path). */
  httpRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
  }

  inviteReceived(): void {
    this.invitesReceived.inc();
  }

  inviteAnswered(outcome: InviteOutcome, status: number): void {
    if (outcome === 'accepted') this.invitesAccepted.inc();
    else if (outcome === 'challenged') this.invitesChallenged.inc();
    else this.invitesRejected.inc({ status: String(status) });
  }

  digestFailed(reason: string): void {
    this.digestFailures.inc({ reason });
  }

  answered(call: { readonly startedAt: number }): void {
    this.answerSeconds.observe((Date.now() - call.startedAt) / 1000);
  }

  ended(call: MeasuredCall, summary: CallSummary): void {
    if (summary.reached !== 'answered') return;
    this.observeFirstRtp(call);
    this.callsEnded.inc(endLabels(summary.end));
    const { quality } = summary;
    if (!quality) return;
    if (quality.roundTripMs !== undefined) this.callRoundTrip.observe(quality.roundTripMs / 1000);
    if (quality.fromPhone) this.observeDirection('from_phone', quality.fromPhone);
    if (quality.toPhone) this.observeDirection('to_phone', quality.toPhone);
  }

  private observeDirection(direction: Direction, quality: DirectionQuality): void {
    this.callJitter.observe({ direction }, quality.jitterMs / 1000);
    this.callLoss.observe({ direction }, quality.lossRatio);
    if (quality.mos !== undefined) this.callMos.observe({ direction }, quality.mos);
  }

  private observeFirstRtp(call: MeasuredCall): void {
    if (this.firstRtpSeen.has(call)) return;
    const firstRtpAt = call.media?.firstRtpAt();
    if (firstRtpAt === undefined) return;
    this.firstRtpSeen.add(call);
    this.firstRtpSeconds.observe(Math.max(0, firstRtpAt - call.startedAt) / 1000);
  }

  private readMedia(): Promise<MediaPlaneTotals> {
    this.mediaRead ??= this.sources.media();
    return this.mediaRead;
  }
}

/** normalClearing → normal_clearing, by cause number. */
const Q850_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(Q850).map(([name, cause]) => [cause, name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)]),
);

/** Bounded labels for how a call ended: the caller's BYE, drachtio's own end, or our BYE's Q.850 cause. */
function endLabels(end: CallEnd): { ended_by: string; reason: string } {
  switch (end.by) {
    case 'caller':
      return { ended_by: 'caller', reason: end.reason };
    case 'drachtio':
      return { ended_by: 'drachtio', reason: 'dialog_ended' };
    case 'hand-off':
      return { ended_by: 'hand-off', reason: 'hand_off' };
    case 'gateway':
      return { ended_by: 'gateway', reason: Q850_NAMES[end.cause] ?? `q850_${end.cause}` };
  }
}
