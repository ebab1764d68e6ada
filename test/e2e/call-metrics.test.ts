/**
 * GET /metrics and GET /api/calls around a real call: a SIP caller through drachtio (the
 * stand-in, or the real drachtio-server when DRACHTIO_SERVER_BIN is set) that talks PCMU
 * over RTP and sends an RTCP receiver report, into a gateway with its mediasoup worker,
 * media thread and a private Redis. The metrics are read as Prometheus reads them (the
 * text format, parsed), before, during and after the call.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { compactNtp, msToCompactUnits } from '../../src/media/rtcp/ntp-time.js';
import { readRtcp } from '../../src/media/rtcp/read-rtcp.js';
import { writeReceiverReport } from '../../src/media/rtcp/rtcp-packet.js';
import { startSipTestGateway } from '../support/gateway.js';
import { requestJson } from '../support/json-api.js';
import { capturedLogger } from '../support/log-capture.js';
import { type Exposition, parsePrometheusText } from '../support/prometheus-text.js';
import { type PrivateRedis, spawnRedisServer } from '../support/redis-server.js';
import { type DrachtioTarget, drachtioTarget } from '../support/sip/drachtio-target.js';
import { RtpCall } from '../support/sip/rtp-call.js';
import { SipCaller } from '../support/sip/sip-caller.js';
import { SipPeer, isFinalResponse } from '../support/sip/sip-peer.js';
import { header } from '../support/sip/sip-message.js';
import { until } from '../support/until.js';

let target: DrachtioTarget;
let redis: PrivateRedis;
let gateway: Gateway;
const gatewayLog = capturedLogger();
const calls: RtpCall[] = [];

const api = <T>(method: string, path: string, body?: unknown) => requestJson<T>(`${gateway.httpUrl}/api`, method, path, body);

async function scrape(): Promise<Exposition> {
  const response = await fetch(`${gateway.httpUrl}/metrics`);
  expect(response.status).toBe(200);
  return parsePrometheusText(await response.text());
}

beforeAll(async () => {
  target = await drachtioTarget();
  redis = await spawnRedisServer();
  gateway = await startSipTestGateway(target, { REDIS_URL: redis.url, RTP_MIN_PORT: '45200', RTP_MAX_PORT: '45299', MEDIA_THREADS: '1' }, gatewayLog.log);
}, 60_000);

afterEach(async () => {
  await Promise.all(calls.splice(0).map((call) => call.close()));
});

afterAll(async () => {
  await gateway?.close();
  await target?.close();
  await redis?.stop();
});

/** The gateway's SRs to the phone so far, with when each arrived. */
function senderReports(call: RtpCall) {
  return call.rtp.rtcpReceived.flatMap(({ packet, atMs }) => {
    const read = readRtcp(packet);
    return read.ok ? read.packets.flatMap((one) => (one.type === 'sender-report' ? [{ report: one, atMs }] : [])) : [];
  });
}

interface CallView {
  callId: string;
  meetingId: string;
  caller: string;
  codec: string;
  state: string;
  startedAt: string;
  quality?: {
    codec: string;
    roundTripMs?: number;
    fromPhone?: { packets: number; lost: number; lossRatio: number; jitterMs: number; mos?: number };
    toPhone?: { lost: number; lossRatio: number; jitterMs: number; mos?: number };
  };
}

describe('a call, seen through GET /metrics and GET /api/calls', () => {
  it('moves the SIP, media and meeting metrics, is listed with its quality while up, and is summarised when it ends', { timeout: 60_000 }, async () => {
    const meetingId = 'metered';
    await api('POST', '/meetings', { id: meetingId });
    const credentials = await api<{ username: string; password: string }>('POST', '/sip-credentials', { meetingId });
    const before = await scrape();

    const call = await RtpCall.dial(target.sipAddress, meetingId, credentials, { rtcpMux: true });
    calls.push(call);
    expect(call.statusLine).toMatch(/^SIP\/2\.0 200 /);
    // Two seconds of the phone's audio, and the gateway's first SR (1.0-3.1 s in, RFC 3550 §6.2).
    await until(() => call.rtp.received.length >= 50 && senderReports(call).length > 0, 10_000, 'the mix and a sender report at the phone');

    // The phone's RR about the gateway's stream: 5 of its packets lost, 10 ms of jitter, echoing the last SR.
    const { report, atMs } = senderReports(call).at(-1)!;
    const gatewaySsrc = report.ssrc;
    call.rtp.send(
      writeReceiverReport(call.rtp.ssrc, [
        {
          ssrc: gatewaySsrc,
          fractionLost: 10,
          cumulativeLost: 5,
          extendedHighestSequence: call.rtp.received.at(-1)!.sequenceNumber,
          jitter: 80,
          lastSenderReport: compactNtp({ seconds: report.sender.ntpSeconds, fraction: report.sender.ntpFraction }),
          delaySinceLastSenderReport: msToCompactUnits(performance.timeOrigin + performance.now() - atMs),
        },
      ]),
      call.gatewayRtpPort,
    );

    let listed: CallView | undefined;
    await until(
      async () => {
        listed = (await api<{ calls: CallView[] }>('GET', '/calls')).calls.find((one) => one.callId === call.callId);
        return listed?.quality?.toPhone !== undefined;
      },
      5000,
      'the phone\'s report in the call\'s quality',
    );
    expect(listed).toMatchObject({ meetingId, codec: 'PCMU', state: 'answered' });
    expect(listed!.caller).toBeTruthy();
    expect(Date.parse(listed!.startedAt)).toBeLessThanOrEqual(Date.now());
    const quality = listed!.quality!;
    expect(quality.codec).toBe('PCMU');
    expect(quality.fromPhone!.packets).toBeGreaterThan(40);
    expect(quality.fromPhone!.lossRatio).toBeLessThan(0.05);
    // A clean loopback call in G.711: near the E-model's 4.41 ceiling.
    expect(quality.fromPhone!.mos).toBeGreaterThan(4);
    expect(quality.toPhone).toMatchObject({ lost: 5, jitterMs: 10 });
    expect(quality.toPhone!.mos).toBeLessThan(quality.fromPhone!.mos!);
    expect(quality.roundTripMs).toBeGreaterThanOrEqual(0);
    expect(await api<CallView>('GET', `/calls/${encodeURIComponent(call.callId)}`)).toMatchObject({ callId: call.callId, codec: 'PCMU' });

    const during = await scrape();
    const grew = (name: string, labels?: Record<string, string>) => during.value(name, labels) - before.value(name, labels);
    // The first INVITE was challenged, the second accepted.
    expect(grew('gateway_sip_invites_received_total')).toBe(2);
    expect(grew('gateway_sip_invites_challenged_total')).toBe(1);
    expect(grew('gateway_sip_invites_accepted_total')).toBe(1);
    expect(grew('gateway_call_setup_answer_seconds_count')).toBe(1);
    expect(grew('gateway_call_setup_first_rtp_seconds_count')).toBe(1);
    expect(during.value('gateway_calls_active', { codec: 'PCMU' })).toBe(1);
    expect(during.value('gateway_meetings_active')).toBeGreaterThanOrEqual(1);
    expect(during.value('gateway_participants', { kind: 'phone' })).toBe(1);
    expect(during.value('gateway_rtp_ports_in_use')).toBe(1);
    expect(grew('gateway_phone_packets_received_total')).toBeGreaterThan(40);
    expect(grew('gateway_phone_packets_sent_total')).toBeGreaterThan(40);
    expect(grew('gateway_mixer_tick_lateness_seconds_count')).toBeGreaterThan(40);
    expect(during.value('gateway_media_thread_cpu_seconds_total', { thread: '0' })).toBeGreaterThan(0);
    expect(during.value('gateway_mediasoup_worker_cpu_seconds')).toBeGreaterThan(0);
    expect(grew('gateway_redis_round_trip_seconds_count')).toBe(1);
    expect(during.value('gateway_http_request_duration_seconds_count', { route: '/api/calls' })).toBeGreaterThanOrEqual(1);
    expect(during.has('gateway_process_resident_memory_bytes')).toBe(true);

    await call.hangUp();
    await until(() => !gateway.sip.calls.has(call.callId), 5000, 'the call to end at the gateway');
    const after = await scrape();
    const since = (name: string, labels?: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
    expect(after.value('gateway_calls_active')).toBe(0);
    expect(since('gateway_calls_ended_total', { ended_by: 'caller', reason: 'BYE' })).toBe(1);
    expect(since('gateway_call_mos_count', { direction: 'from_phone' })).toBe(1);
    expect(since('gateway_call_mos_count', { direction: 'to_phone' })).toBe(1);
    expect(since('gateway_call_loss_ratio_count', { direction: 'to_phone' })).toBe(1);
    expect(since('gateway_call_jitter_seconds_count', { direction: 'from_phone' })).toBe(1);
    expect(after.value('gateway_rtp_ports_in_use')).toBe(0);
    // Counted by the media thread when the port closed: the totals never go back.
    expect(after.value('gateway_phone_packets_received_total')).toBeGreaterThanOrEqual(during.value('gateway_phone_packets_received_total'));
    // No call or meeting id in any label.
    for (const sample of after.samples) expect(Object.values(sample.labels).join(' ')).not.toMatch(new RegExp(`${meetingId}|${call.callId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect((await fetch(`${gateway.httpUrl}/api/calls/${encodeURIComponent(call.callId)}`)).status).toBe(404);

    const ended = gatewayLog.lines().find((line) => line.msg === 'call ended' && line.callId === call.callId && line.state === 'answered') as { quality?: CallView['quality']; meetingId?: string } | undefined;
    expect(ended?.meetingId).toBe(meetingId);
    expect(ended?.quality?.fromPhone?.mos).toBeGreaterThan(4);
    expect(ended?.quality?.toPhone).toMatchObject({ lost: 5 });
  });

  it('counts a wrong password as a digest failure and its refusal by status', { timeout: 30_000 }, async () => {
    await api('POST', '/meetings', { id: 'metered-refusal' });
    const { username } = await api<{ username: string }>('POST', '/sip-credentials', { meetingId: 'metered-refusal' });
    const before = await scrape();
    const call = await RtpCall.dial(target.sipAddress, 'metered-refusal', { username, password: 'not-the-password' });
    calls.push(call);
    expect(call.statusLine).toMatch(/^SIP\/2\.0 403 /);
    const after = await scrape();
    expect(after.value('gateway_sip_digest_failures_total', { reason: 'wrong_credentials' }) - before.value('gateway_sip_digest_failures_total', { reason: 'wrong_credentials' })).toBe(1);
    expect(after.value('gateway_sip_invites_rejected_total', { status: '403' }) - before.value('gateway_sip_invites_rejected_total', { status: '403' })).toBe(1);
    expect(after.value('gateway_sip_invites_accepted_total')).toBe(before.value('gateway_sip_invites_accepted_total'));
  });

  it('hangs a call up through DELETE /api/calls/:callId: a BYE with Reason, counted as a normal clearing', { timeout: 30_000 }, async () => {
    await api('POST', '/meetings', { id: 'metered-hangup' });
    const credentials = await api<{ username: string; password: string }>('POST', '/sip-credentials', { meetingId: 'metered-hangup' });
    const call = await RtpCall.dial(target.sipAddress, 'metered-hangup', credentials, { rtcpMux: true });
    calls.push(call);
    expect(call.statusLine).toMatch(/^SIP\/2\.0 200 /);
    const before = await scrape();
    const bye = call.byeFromGateway(5000);
    const response = await fetch(`${gateway.httpUrl}/api/calls/${encodeURIComponent(call.callId)}`, { method: 'DELETE' });
    expect(response.status).toBe(204);
    expect(header((await bye).text, 'Reason')).toBe('Q.850;cause=16;text="hung up through the call API"');
    expect(gateway.sip.calls.has(call.callId)).toBe(false);
    const after = await scrape();
    const normal = { ended_by: 'gateway', reason: 'normal_clearing' };
    expect(after.value('gateway_calls_ended_total', normal) - before.value('gateway_calls_ended_total', normal)).toBe(1);
    expect((await fetch(`${gateway.httpUrl}/api/calls/${encodeURIComponent(call.callId)}`, { method: 'DELETE' })).status).toBe(404);
  });

  // Last: the gateway takes no call after it.
  it('counts an INVITE refused with 503 while the node drains, before any challenge', { timeout: 30_000 }, async () => {
    const before = await scrape();
    gateway.admission.drain();
    const peer = await SipPeer.udp(target.sipAddress);
    try {
      const caller = new SipCaller(peer, `sip:metered@${target.sipAddress.host}:${target.sipAddress.port}`);
      caller.invite({});
      const final = await peer.next(isFinalResponse, 5000);
      caller.ackFailure(final);
      expect(final.text).toMatch(/^SIP\/2\.0 503 /);
    } finally {
      await peer.close();
    }
    const after = await scrape();
    const grew = (name: string, labels?: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
    expect(grew('gateway_sip_invites_received_total')).toBe(1);
    expect(grew('gateway_sip_invites_rejected_total', { status: '503' })).toBe(1);
    expect(grew('gateway_sip_invites_shed_total', { reason: 'draining' })).toBe(1);
    expect(grew('gateway_sip_invites_challenged_total')).toBe(0);
  });
});
