import { describe, expect, it } from 'vitest';
import type { CallSummary } from '../../src/calls/call.js';
import { NO_LATENESS } from '../../src/media/mixer/lateness-histogram.js';
import type { MediaPlaneTotals } from '../../src/media/plane/media-plane.js';
import { NO_PACKETS } from '../../src/media/plane/packet-counts.js';
import { GatewayMetrics, type MeasuredCall, type MetricsSources } from '../../src/metrics/gateway-metrics.js';
import type { SipGuardCounters } from '../../src/sip/guard/sip-guard.js';
import { parsePrometheusText } from '../support/prometheus-text.js';

const NO_MEDIA: MediaPlaneTotals = {
  phonePackets: NO_PACKETS,
  tickLateness: NO_LATENESS,
  threadCpuMs: [],
  ports: 0,
};

function metricsOver(overrides: Partial<MetricsSources> = {}) {
  const live: MeasuredCall[] = [];
  const state = {
    admission: { setupsInFlight: 0, refused: { overloaded: 0, draining: 0 } },
    meetings: { open: 0, participants: { browser: 0, phone: 0 } },
    media: NO_MEDIA,
    sipGuard: undefined as SipGuardCounters | undefined,
  };
  const metrics = new GatewayMetrics({
    calls: () => live,
    admission: () => state.admission,
    meetings: () => state.meetings,
    media: async () => state.media,
    mediasoupWorkers: () => [],
    sipGuard: () => state.sipGuard,
    ...overrides,
  });
  const scrape = async () => parsePrometheusText(await metrics.text());
  return { metrics, live, state, scrape };
}

const call = (codec: string | undefined, startedAt: number, firstRtpAt?: number): MeasuredCall => ({
  state: 'answered',
  startedAt,
  media: { codec, firstRtpAt: () => firstRtpAt, close: () => undefined },
});

describe('GatewayMetrics', () => {
  it('counts INVITEs received, challenged, accepted, and rejected by status, and digest failures by reason', async () => {
    const { metrics, scrape } = metricsOver();
    for (let i = 0; i < 4; i++) metrics.inviteReceived();
    metrics.inviteAnswered('challenged', 401);
    metrics.inviteAnswered('accepted', 200);
    metrics.inviteAnswered('rejected', 404);
    metrics.inviteAnswered('rejected', 404);
    metrics.digestFailed('wrong_credentials');
    const text = await scrape();
    expect(text.value('gateway_sip_invites_received_total')).toBe(4);
    expect(text.value('gateway_sip_invites_challenged_total')).toBe(1);
    expect(text.value('gateway_sip_invites_accepted_total')).toBe(1);
    expect(text.value('gateway_sip_invites_rejected_total', { status: '404' })).toBe(2);
    expect(text.value('gateway_sip_digest_failures_total', { reason: 'wrong_credentials' })).toBe(1);
    expect(text.types.get('gateway_sip_invites_rejected_total')).toBe('counter');
  });

  it('exports the SIP guard\'s counts by event, and the requests whose answer it holds back', async () => {
    const { state, scrape } = metricsOver();
    expect((await scrape()).value('gateway_sip_requests_held')).toBe(0);
    state.sipGuard = {
      droppedRateLimited: 40,
      droppedBanned: 12,
      bans: 3,
      scannerBans: 1,
      authFailures: 15,
      slowedAuthentications: 2,
      spentNonceRetries: 4,
      setupsRefusedPerSource: 0,
      setupsRefusedPerCredential: 5,
      storeErrors: 0,
      requestsHeld: 7,
    };
    let text = await scrape();
    expect(text.value('gateway_sip_guard_events_total', { event: 'dropped_banned' })).toBe(12);
    expect(text.value('gateway_sip_guard_events_total', { event: 'bans' })).toBe(3);
    expect(text.value('gateway_sip_guard_events_total', { event: 'auth_failures' })).toBe(15);
    expect(text.value('gateway_sip_guard_events_total', { event: 'setups_refused_per_credential' })).toBe(5);
    expect(text.value('gateway_sip_requests_held')).toBe(7);
    expect(text.types.get('gateway_sip_guard_events_total')).toBe('counter');
    state.sipGuard = { ...state.sipGuard, bans: 4, requestsHeld: 0 };
    text = await scrape();
    expect(text.value('gateway_sip_guard_events_total', { event: 'bans' })).toBe(4);
    expect(text.value('gateway_sip_requests_held')).toBe(0);
  });

  it('reads counts kept elsewhere (media threads, admission) at each scrape, as counters that follow them', async () => {
    const { state, scrape } = metricsOver();
    state.admission = { setupsInFlight: 3, refused: { overloaded: 5, draining: 1 } };
    state.media = {
      phonePackets: { received: 500, sent: 480, lost: 7, late: 2, concealed: 9 },
      tickLateness: { buckets: [10, 20, 30, 40, 50, 60, 70, 80, 81], sumMs: 123, count: 81 },
      threadCpuMs: [1500, 250],
      ports: 4,
    };
    let text = await scrape();
    expect(text.value('gateway_sip_invites_shed_total', { reason: 'overloaded' })).toBe(5);
    expect(text.value('gateway_call_setups_in_flight')).toBe(3);
    expect(text.value('gateway_phone_packets_received_total')).toBe(500);
    expect(text.value('gateway_phone_packets_sent_total')).toBe(480);
    expect(text.value('gateway_phone_packets_lost_total')).toBe(7);
    expect(text.value('gateway_phone_packets_late_total')).toBe(2);
    expect(text.value('gateway_phone_frames_concealed_total')).toBe(9);
    expect(text.types.get('gateway_phone_packets_received_total')).toBe('counter');
    expect(text.value('gateway_media_thread_cpu_seconds_total', { thread: '0' })).toBe(1.5);
    expect(text.value('gateway_media_thread_cpu_seconds_total', { thread: '1' })).toBe(0.25);
    expect(text.value('gateway_rtp_ports_in_use')).toBe(4);
    // The threads' own buckets, cumulative, in seconds.
    expect(text.types.get('gateway_mixer_tick_lateness_seconds')).toBe('histogram');
    expect(text.value('gateway_mixer_tick_lateness_seconds_bucket', { le: '0.0005' })).toBe(10);
    expect(text.value('gateway_mixer_tick_lateness_seconds_bucket', { le: '0.02' })).toBe(60);
    expect(text.value('gateway_mixer_tick_lateness_seconds_bucket', { le: '+Inf' })).toBe(81);
    expect(text.value('gateway_mixer_tick_lateness_seconds_count')).toBe(81);
    expect(text.value('gateway_mixer_tick_lateness_seconds_sum')).toBeCloseTo(0.123, 6);

    state.media = { ...state.media, phonePackets: { ...state.media.phonePackets, received: 650 } };
    state.admission = { setupsInFlight: 0, refused: { overloaded: 6, draining: 1 } };
    text = await scrape();
    expect(text.value('gateway_phone_packets_received_total')).toBe(650);
    expect(text.value('gateway_sip_invites_shed_total', { reason: 'overloaded' })).toBe(6);
    expect(text.value('gateway_call_setups_in_flight')).toBe(0);
  });

  it('shows active calls by codec, meetings and participants by kind, and each call\'s first RTP once', async () => {
    const { live, state, scrape } = metricsOver();
    const now = Date.now();
    live.push(call('PCMU', now - 2000, now - 1500), call('PCMU', now - 1000), call('G722', now - 500, now - 450), { state: 'setting-up', startedAt: now, media: undefined });
    state.meetings = { open: 2, participants: { browser: 3, phone: 3 } };
    let text = await scrape();
    expect(text.value('gateway_calls_active', { codec: 'PCMU' })).toBe(2);
    expect(text.value('gateway_calls_active', { codec: 'G722' })).toBe(1);
    expect(text.value('gateway_calls_active')).toBe(3);
    expect(text.value('gateway_meetings_active')).toBe(2);
    expect(text.value('gateway_participants', { kind: 'phone' })).toBe(3);
    expect(text.value('gateway_call_setup_first_rtp_seconds_count')).toBe(2);
    expect(text.value('gateway_call_setup_first_rtp_seconds_sum')).toBeCloseTo(0.55, 2);

    live.splice(0, 3);
    text = await scrape();
    expect(text.value('gateway_calls_active')).toBe(0);
    expect(text.has('gateway_calls_active', { codec: 'PCMU' })).toBe(false);
    expect(text.value('gateway_call_setup_first_rtp_seconds_count')).toBe(2);
  });

  it('observes each answered call as it ends: why, its quality per direction, never its id', async () => {
    const { metrics, scrape } = metricsOver();
    const now = Date.now();
    const ended = call('PCMU', now - 60_000, now - 59_000);
    metrics.answered({ startedAt: now - 120 });
    const summary: CallSummary = {
      reached: 'answered',
      end: { by: 'gateway', reason: 'no RTP or RTCP from the phone for 30 s', cause: 102 },
      durationMs: 60_000,
      quality: {
        codec: 'PCMU',
        roundTripMs: 40,
        fromPhone: { lossRatio: 0.01, jitterMs: 5, mos: 4.33, rFactor: 89.6, packets: 2970, lost: 30 },
        toPhone: { lossRatio: 0, jitterMs: 2, mos: 4.41, rFactor: 93.2, lost: 0 },
      },
    };
    metrics.ended(ended, summary);
    metrics.ended(call('PCMU', now), { reached: 'answered', end: { by: 'caller', reason: 'BYE' }, durationMs: 1000 });
    // A call refused before the answer is an INVITE outcome, not an ended call.
    metrics.ended(call(undefined, now), { reached: 'setting-up', end: { by: 'caller', reason: 'CANCEL' }, status: 487, durationMs: 10 });
    const text = await scrape();
    expect(text.value('gateway_call_setup_answer_seconds_count')).toBe(1);
    expect(text.value('gateway_call_setup_answer_seconds_bucket', { le: '0.25' })).toBe(1);
    expect(text.value('gateway_call_setup_answer_seconds_bucket', { le: '0.1' })).toBe(0);
    expect(text.value('gateway_calls_ended_total', { ended_by: 'gateway', reason: 'recovery_on_timer_expiry' })).toBe(1);
    expect(text.value('gateway_calls_ended_total', { ended_by: 'caller', reason: 'BYE' })).toBe(1);
    expect(text.value('gateway_calls_ended_total')).toBe(2);
    expect(text.value('gateway_call_setup_first_rtp_seconds_count')).toBe(1);
    expect(text.value('gateway_call_mos_count', { direction: 'from_phone' })).toBe(1);
    expect(text.value('gateway_call_mos_sum', { direction: 'from_phone' })).toBeCloseTo(4.33, 6);
    expect(text.value('gateway_call_mos_bucket', { direction: 'to_phone', le: '4.4' })).toBe(0);
    expect(text.value('gateway_call_loss_ratio_sum', { direction: 'from_phone' })).toBeCloseTo(0.01, 6);
    expect(text.value('gateway_call_jitter_seconds_sum', { direction: 'to_phone' })).toBeCloseTo(0.002, 6);
    expect(text.value('gateway_call_round_trip_seconds_sum')).toBeCloseTo(0.04, 6);
    // Bounded labels only.
    const labelNames = new Set(text.samples.flatMap((sample) => Object.keys(sample.labels)));
    for (const name of labelNames) expect(['status', 'reason', 'codec', 'ended_by', 'direction', 'kind', 'thread', 'worker', 'method', 'route', 'status_code', 'le', 'quantile', 'type', 'space', 'version', 'major', 'minor', 'patch', 'kind']).toContain(name);
  });

  it('includes the process metrics prom-client collects, and Redis round trips only with Redis', async () => {
    const withoutRedis = await metricsOver().scrape();
    expect(withoutRedis.has('gateway_process_cpu_user_seconds_total')).toBe(true);
    expect(withoutRedis.has('gateway_nodejs_eventloop_lag_seconds')).toBe(true);
    expect(withoutRedis.has('gateway_redis_round_trip_seconds_count')).toBe(false);

    let pings = 0;
    const { scrape } = metricsOver({ redisPing: async () => void pings++ });
    await scrape();
    const text = await scrape();
    expect(pings).toBe(2);
    expect(text.value('gateway_redis_round_trip_seconds_count')).toBe(2);
  });

  it('times HTTP requests by route pattern', async () => {
    const { metrics, scrape } = metricsOver();
    metrics.httpRequest('GET', '/api/meetings/:id', 200, 0.004);
    metrics.httpRequest('GET', '/api/meetings/:id', 404, 0.002);
    const text = await scrape();
    expect(text.value('gateway_http_request_duration_seconds_count', { method: 'GET', route: '/api/meetings/:id', status_code: '200' })).toBe(1);
    expect(text.value('gateway_http_request_duration_seconds_count', { route: '/api/meetings/:id' })).toBe(2);
  });
});
