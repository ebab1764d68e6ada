/**
 * The gateway's HTTP app (buildApp) over in-memory components, for route tests: a
 * MemoryStore and the real services over it, configured from the same variables as the
 * gateway (testConfig). No media workers, SIP or page build: signaling answers
 * 'unavailable' unless a test brings its own rooms, and the page routes serve the page
 * bundled once for this test run (test/setup/web-assets.ts).
 */
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { CallRegistry } from '../../src/calls/call-registry.js';
import { CallDirectory, type ViewedMedia } from '../../src/calls/call-views.js';
import type { CallSignaling } from '../../src/calls/call.js';
import { MeetingOwnership } from '../../src/cluster/meeting-ownership.js';
import type { GatewayConfig } from '../../src/config/config.js';
import { SipCredentials } from '../../src/credentials/sip-credentials.js';
import { Drain } from '../../src/drain.js';
import { GatewayError } from '../../src/errors.js';
import type { AppDeps } from '../../src/http/app.js';
import type { Logger } from '../../src/logger.js';
import { MediaCensus } from '../../src/media/media-census.js';
import { NO_LATENESS } from '../../src/media/mixer/lateness-histogram.js';
import { MixerClock } from '../../src/media/mixer/mixer-clock.js';
import { NO_PACKETS } from '../../src/media/plane/packet-counts.js';
import { MeetingService } from '../../src/meetings/meeting-service.js';
import { GatewayMetrics, type MeasuredMedia } from '../../src/metrics/gateway-metrics.js';
import { CallerLockout } from '../../src/pstn/caller-lockout.js';
import { PhoneNumbers } from '../../src/pstn/phone-numbers.js';
import { TwilioDialIn } from '../../src/pstn/twilio-dial-in.js';
import { Trunks } from '../../src/pstn/trunks.js';
import { SipGuard } from '../../src/sip/guard/sip-guard.js';
import { MemoryClusterStore } from '../../src/store/memory-cluster-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { MemorySipGuardStore } from '../../src/store/sip-guard-store.js';
import { capturedLogger } from './log-capture.js';
import { testConfig } from './test-config.js';

export interface MemoryApp {
  readonly config: GatewayConfig;
  /** The calls GET /api/calls lists: none unless a test opens some. */
  readonly calls: CallRegistry<CallSignaling, ViewedMedia & MeasuredMedia>;
  readonly store: MemoryStore;
  readonly meetings: MeetingService;
  readonly sipCredentials: SipCredentials;
  /** The SIP guard behind /api/sip/bans, over a memory store; its timers do not hold the process. */
  readonly sipGuard: SipGuard;
  readonly deps: AppDeps;
}

/** Composed as gateway.ts composes them, over a MemoryStore; `env` as for the gateway. */
export function memoryApp(env: Record<string, string> = {}, log: Logger = capturedLogger().log, store = new MemoryStore()): MemoryApp {
  const config = testConfig(env);
  const meetings = new MeetingService(store, { sipDomain: config.sipDomain, publicUrl: config.publicUrl }, log);
  const sipCredentials = new SipCredentials(store, meetings, { sipDomain: config.sipDomain }, log);
  const phoneNumbers = new PhoneNumbers(store, meetings, log);
  const twilioDialIn = new TwilioDialIn(
    { meetings, phoneNumbers, credentials: sipCredentials, lockout: new CallerLockout(store), store, log: log.child({ component: 'twilio' }) },
    { ivr: config.twilioIvr },
  );
  // Nothing live in a memory app: a drain closes (nothing) at once.
  const drain = new Drain({
    stopAdmitting: () => undefined,
    live: () => ({ setupsInFlight: 0, calls: 0, participants: 0 }),
    relayedCalls: async () => 0,
    endRelays: () => undefined,
    close: async () => undefined,
    drainMs: config.drainMs,
    log,
  });
  const calls = new CallRegistry<CallSignaling, ViewedMedia & MeasuredMedia>();
  const sipGuard = new SipGuard(config.sipGuard, new MemorySipGuardStore(), log);
  const deps: AppDeps = {
    log,
    apiToken: config.apiToken,
    metricsToken: config.metricsToken,
    // No media, no rooms: the metrics that read them read nothing.
    metrics: new GatewayMetrics({
      calls: () => calls.all(),
      admission: () => ({ setupsInFlight: 0, refused: { overloaded: 0, draining: 0 } }),
      meetings: () => ({ open: 0, participants: { browser: 0, phone: 0 } }),
      media: async () => ({ phonePackets: NO_PACKETS, tickLateness: NO_LATENESS, threadCpuMs: [], ports: 0 }),
      mediasoupWorkers: () => [],
      sipGuard: () => sipGuard.counters(),
    }),
    calls: new CallDirectory(calls, { nodeId: 'test-node', store }),
    // No SIP in a memory app: dialling out is refused as a gateway without drachtio would.
    dialOut: {
      dial: () => Promise.reject(new GatewayError('unavailable', 'this test runs without SIP')),
    },
    trunks: new Trunks(store, log),
    readiness: [{ name: 'store', check: async () => void (await store.ping()) }],
    meetings,
    // One node, as a gateway without Redis: it hosts every meeting joined through it.
    ownership: new MeetingOwnership(
      new MemoryClusterStore(),
      { nodeId: 'test-node', publicUrl: config.publicUrl, leaseMs: config.meetingLeaseMs, serving: () => true, hosting: () => false },
      log,
    ),
    // No rooms: nobody to remove.
    participants: { removeParticipant: async () => false },
    sipCredentials,
    phoneNumbers,
    sipBans: sipGuard,
    mixerStats: new MixerClock(),
    // Watches nothing: a memory app has no media workers.
    mediaCensus: new MediaCensus(),
    drain: () => drain.start(),
    twilioDialIn,
    twilio: {
      authToken: config.twilioAuthToken,
      publicUrl: config.publicUrl,
      voice: { voice: config.twilioVoice, language: config.twilioLanguage },
    },
    signaling: {
      rooms: {
        room: async () => {
          throw new GatewayError('unavailable', 'this test runs without media workers');
        },
      },
      webRtcListen: { ip: config.rtpListenIp, announcedIp: config.announcedIp },
    },
    webAssetsDir: inject('webAssetsDir'),
  };
  return { config, calls, store, meetings, sipCredentials, sipGuard, deps };
}

export interface ApiAnswer {
  readonly status: number;
  readonly text: string;
  // Response bodies are whatever the server sent; each test asserts on their shape.
  readonly body: any;
  readonly headers: Headers;
}

export interface ApiRequest {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Sent as the JSON body, with its content type. */
  readonly json?: unknown;
  /** Sent as the body as it is. */
  readonly body?: string;
  readonly headers?: Record<string, string>;
  /** The bearer token; null sends none. Default: the client's token. */
  readonly token?: string | null;
  readonly remoteAddress?: string;
}

/** Requests to /api/* injected into the app, as a REST client holding `token` would send them. */
export function apiClient(app: FastifyInstance, token?: string): (path: string, request?: ApiRequest) => Promise<ApiAnswer> {
  return async (path, request = {}) => {
    const bearer = request.token === undefined ? token : request.token;
    const response = await app.inject({
      method: request.method ?? 'GET',
      url: `/api${path}`,
      headers: {
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        ...(request.json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...request.headers,
      },
      ...(request.json !== undefined ? { payload: JSON.stringify(request.json) } : request.body !== undefined ? { payload: request.body } : {}),
      ...(request.remoteAddress !== undefined ? { remoteAddress: request.remoteAddress } : {}),
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : String(value));
    }
    return { status: response.statusCode, text: response.body, body: response.body ? JSON.parse(response.body) : undefined, headers };
  };
}
