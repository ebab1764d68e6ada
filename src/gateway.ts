/**
 * The running gateway: every long-lived component, started in dependency order and
 * closed in reverse. main.ts and the end-to-end tests both start it through here.
 * Closing first ends what is live (no new call let in, a BYE for each call, a notice for
 * each browser), then closes the components: HTTP, SIP, rooms, workers, store.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { GatewayConfig } from './config/config.js';
import { MeetingCallHosts } from './cluster/call-host.js';
import { GoneNodeCleanup } from './cluster/gone-node-cleanup.js';
import { MeetingOwnership } from './cluster/meeting-ownership.js';
import { NodePresence } from './cluster/node-presence.js';
import { RelayedCallEnds } from './cluster/relayed-call-ends.js';
import { Drain, type DrainStatus } from './drain.js';
import { buildApp } from './http/app.js';
import type { ReadinessCheck } from './http/readiness.js';
import { BUILT_WEB_ASSETS_DIR } from './http/web-assets.js';
import type { Logger } from './logger.js';
import { mediaLoad } from './media/media-load.js';
import { MediaCensus } from './media/media-census.js';
import type { RoomCloseReason } from './media/room-notices.js';
import { MediaPlane } from './media/plane/media-plane.js';
import { WorkerPool } from './media/worker-pool.js';
import { MeetingService } from './meetings/meeting-service.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { CallEvents } from './calls/call-events.js';
import { CallDirectory } from './calls/call-views.js';
import { DialOuts } from './calls/dial-outs.js';
import { Trunks } from './pstn/trunks.js';
import { Rooms } from './media/rooms.js';
import { CallerLockout } from './pstn/caller-lockout.js';
import { PhoneNumbers } from './pstn/phone-numbers.js';
import { TwilioDialIn } from './pstn/twilio-dial-in.js';
import { MemoryNonceCountStore } from './sip/digest/nonce-count-store.js';
import { RedisNonceCountStore } from './sip/digest/redis-nonce-count-store.js';
import { SipCredentials } from './credentials/sip-credentials.js';
import { CallAdmission } from './sip/call-admission.js';
import { SipService } from './sip/sip-service.js';
import type { SipLeg } from './sip/sip-leg.js';
import type { PhoneMedia } from './media/phone-media.js';
import { MemoryClusterStore } from './store/memory-cluster-store.js';
import { RedisClusterStore } from './store/redis-cluster-store.js';
import { RedisStore } from './store/redis-store.js';
import { RedisSipGuardStore } from './store/redis-sip-guard-store.js';
import { MemorySipGuardStore } from './store/sip-guard-store.js';
import { openStore } from './store/open-store.js';
import type { GatewayStore } from './store/store.js';
import { WebhookOutbox } from './webhooks/webhook-outbox.js';
import { WebhookPublisher } from './webhooks/webhook-publisher.js';
import { callObservers } from './calls/call-observers.js';

export interface Gateway {
  readonly config: GatewayConfig;
  readonly store: GatewayStore;
  readonly workers: WorkerPool;
  readonly mediaPlane: MediaPlane;
  readonly meetings: MeetingService;
  readonly rooms: Rooms;
  /** This node's id, as peers and the store know it. */
  readonly nodeId: string;
  /** Which node hosts each meeting; this node's leases. */
  readonly ownership: MeetingOwnership;
  readonly admission: CallAdmission;
  readonly sip: SipService;
  readonly sipCredentials: SipCredentials;
  readonly phoneNumbers: PhoneNumbers;
  readonly metrics: GatewayMetrics;
  /** What happens in calls (each key a caller presses), for whoever forwards it. */
  readonly callEvents: CallEvents;
  readonly http: FastifyInstance;
  /** Where the HTTP server listens, e.g. http://127.0.0.1:8080. */
  readonly httpUrl: string;
  /** Starts a drain (see drain.ts), which closes the gateway when it is over; idempotent. */
  drain(): DrainStatus;
  /** Ends everything now; idempotent (a later call returns the first close). */
  close(reason?: CloseReason): Promise<void>;
  /** Settles when the gateway has closed, however the close was started (a drain, close()). */
  whenClosed(): Promise<void>;
}

/** Why the gateway closes, as browsers are told: draining (time up), or shut down at once. */
export type CloseReason = Extract<RoomCloseReason, 'draining' | 'shutdown'>;

const CALL_END_REASON: Record<CloseReason, string> = {
  draining: 'gateway draining',
  shutdown: 'gateway shutting down',
};

export interface GatewayOptions {
  /** Where the bundled meeting page is; default: the one `npm run build` wrote into dist/public. */
  readonly webAssetsDir?: string;
}

export async function startGateway(config: GatewayConfig, log: Logger, options: GatewayOptions = {}): Promise<Gateway> {
  const closers: Array<(reason: CloseReason) => Promise<void> | void> = [];
  let resolveClosed!: () => void;
  let rejectClosed!: (err: unknown) => void;
  const closed = new Promise<void>((resolve, reject) => {
    resolveClosed = resolve;
    rejectClosed = reject;
  });
  // Handled here so a failed close nobody waits for is not an unhandled rejection; whenClosed() still sees it.
  closed.catch(() => undefined);
  let closing: Promise<void> | undefined;
  const close = (reason: CloseReason = 'shutdown') => {
    if (!closing) {
      closing = (async () => {
        for (const closer of closers.reverse()) await closer(reason);
      })();
      closing.then(resolveClosed, rejectClosed);
    }
    return closing;
  };
  log.info({ config }, 'configuration');
  try {
    const store = await openStore(config.redisUrl, log);
    closers.push(() => store.close());
    // Closed just before the store, after every call and room: their last events are queued first.
    const webhooks =
      config.webhookUrl && config.webhookSecret
        ? new WebhookOutbox({ url: config.webhookUrl, secret: config.webhookSecret, store, log: log.child({ component: 'webhooks' }) })
        : undefined;
    if (webhooks) closers.push(() => webhooks.close());
    const events = webhooks && new WebhookPublisher(webhooks);

    // Before the first worker, so every mediasoup object of this gateway is counted.
    const mediaCensus = MediaCensus.watch();
    closers.push(() => mediaCensus.close());
    const workers = await WorkerPool.create(
      { size: config.mediasoupWorkers, rtcMinPort: config.rtpMinPort, rtcMaxPort: config.rtpMaxPort },
      log,
    );
    closers.push(() => workers.close());

    const webRtcListen = { ip: config.rtpListenIp, announcedIp: config.announcedIp };
    // Unique per gateway, not per process: tests (and an embedding) may start several in one.
    const nodeId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    const meetings = new MeetingService(store, { sipDomain: config.sipDomain, publicUrl: config.publicUrl }, log);
    // Peers, and the lease of each meeting this node hosts; with the memory store, only this node.
    const cluster = store instanceof RedisStore ? new RedisClusterStore(store.redis, { prefix: store.prefix }) : new MemoryClusterStore();
    // Set once the rooms and the drain exist (a SIP call may open a room before the drain does).
    let draining = () => false;
    let hosting: (meetingId: string) => boolean = () => false;
    const ownership = new MeetingOwnership(
      cluster,
      {
        nodeId,
        publicUrl: config.publicUrl,
        leaseMs: config.meetingLeaseMs,
        serving: () => !draining(),
        hosting: (meetingId) => hosting(meetingId),
      },
      log.child({ component: 'cluster' }),
    );
    // Closed after the rooms (which release their leases as they close), before the store.
    closers.push(() => ownership.close());
    const mediaPlane = MediaPlane.create({ threads: config.mediaThreads }, log);
    closers.push(() => mediaPlane.close());
    const rooms = new Rooms(
      workers,
      store,
      {
        maxParticipants: config.maxParticipants,
        mixer: { talkers: config.mixerTalkers, plane: mediaPlane },
        emptyGraceMs: config.emptyRoomGraceMs,
        nodeId,
        ...(events && { membership: events }),
        lifecycle: ownership,
      },
      log,
    );
    // Draining, a lease is kept only for the calls and browsers still here (the empty room's grace is no reason to keep new joins).
    hosting = (meetingId) => (draining() ? rooms.occupied(meetingId) : rooms.isOpen(meetingId));
    meetings.onEnd((meetingId) => rooms.close(meetingId, 'meeting-ended'));
    // After the rooms: its participants' leaving is told before the meeting's end.
    if (events) meetings.onEnd((meetingId, reason) => events.meetingEnded(meetingId, reason));
    closers.push((reason) => rooms.closeAll(reason));

    const sipCredentials = new SipCredentials(store, meetings, { sipDomain: config.sipDomain }, log);
    // Nonce counts must be shared wherever credentials are: a replay to another node is still a replay.
    const nonceCounts = store instanceof RedisStore ? new RedisNonceCountStore(store.redis, { prefix: store.prefix }) : new MemoryNonceCountStore();
    // So are failures, bans and spent nonces: an attacker spread over the nodes is counted once.
    const guardStore =
      store instanceof RedisStore
        ? new RedisSipGuardStore(store.redis, { prefix: store.prefix, blacklistKey: config.sipGuard.drachtioBlacklistKey })
        : new MemorySipGuardStore();
    const admission = new CallAdmission(
      { maxSetupsInFlight: config.sipMaxSetupsInFlight, maxMediaLoad: config.sipMaxMediaLoad, retryAfterSeconds: config.sipRetryAfterSeconds },
      mediaLoad(mediaPlane),
      log.child({ component: 'admission' }),
    );
    // The metrics observe the SIP service and read its calls: made first, they read them once it runs.
    let sip: SipService | undefined;
    const metrics = new GatewayMetrics({
      calls: () => sip?.calls.all() ?? [],
      admission: () => admission.state(),
      meetings: () => ({ open: rooms.count, participants: rooms.membersByKind() }),
      media: () => mediaPlane.totals(),
      mediasoupWorkers: () => workers.workers,
      ...(store instanceof RedisStore && { redisPing: () => store.ping() }),
      sipGuard: () => sip?.guard.counters(),
      ...(webhooks && { webhookOutcomes: () => webhooks.counts() }),
    });
    const callEvents = new CallEvents(log);
    // The meeting's browsers on this node hear how each call it dials goes.
    const dialOuts = new DialOuts(({ meetingId, callId, to, state, sipStatus, reason }) =>
      void rooms.existing(meetingId).then((room) => room?.dialOutChanged({ callId, to, state, ...(sipStatus !== undefined && { sipStatus }), ...(reason && { reason }) })),
    );
    const trunks = new Trunks(store, log.child({ component: 'trunks' }));
    const phoneNumbers = new PhoneNumbers(store, meetings, log);
    if (events) callEvents.observe(events);
    // Which node sets up a meeting's calls, and where Twilio dials.
    const callHosts = new MeetingCallHosts(ownership, cluster, config.meetingLeaseMs);
    const sipService = await SipService.start({
      config,
      meetings,
      rooms,
      store,
      sipCredentials,
      nonceCounts,
      guardStore,
      admission,
      nodeId,
      log,
      observer: metrics,
      callObserver: events ? callObservers<SipLeg, PhoneMedia>(metrics, events) : metrics,
      callEvents,
      dialOuts,
      trunks,
      phoneNumbers,
      callHosts,
    });
    sip = sipService;
    await trunks.useRegistrar(sipService.registrations);
    closers.push((reason) => sipService.close(CALL_END_REASON[reason]));

    const twilioDialIn = new TwilioDialIn(
      {
        meetings,
        phoneNumbers,
        credentials: sipCredentials,
        lockout: new CallerLockout(store),
        store,
        log: log.child({ component: 'twilio' }),
        ownerElsewhere: (meetingId) => callHosts.ownerElsewhere(meetingId),
      },
      { ivr: config.twilioIvr },
    );

    const readiness: ReadinessCheck[] = [
      { name: 'store', check: async () => void (await store.ping()) },
      { name: 'mediasoup', check: () => workers.problem() },
      { name: 'sip', check: () => sipService.problem() },
      { name: 'calls', check: () => admission.problem() },
      // A carrier's registrar being down must not take every node out of the load balancer.
      { name: 'trunks', check: () => sipService.registrations.problem(), advisory: true },
    ];
    let publishPresence = () => undefined as void;
    const drain = new Drain({
      stopAdmitting: () => admission.drain(),
      live: () => ({ setupsInFlight: admission.setupsInFlight, calls: sipService.calls.size, participants: rooms.members }),
      relayedCalls: async () => (await store.listCalls()).filter((call) => call.viaNodeId === nodeId).length,
      // Peers read it from this node's presence record (published below), at once rather than at the next refresh.
      endRelays: () => publishPresence(),
      close,
      drainMs: config.drainMs,
      log,
    });
    draining = () => drain.draining;

    const http = await buildApp({
      log,
      apiToken: config.apiToken,
      metricsToken: config.metricsToken,
      metrics,
      calls: new CallDirectory(sipService.calls, { nodeId, store }, dialOuts),
      dialOut: sipService.dialOut,
      trunks,
      readiness,
      meetings,
      ownership,
      participants: rooms,
      sipCredentials,
      phoneNumbers,
      sipBans: sip.guard,
      mixerStats: mediaPlane,
      mediaCensus,
      drain: () => drain.start(),
      twilioDialIn,
      twilio: {
        authToken: config.twilioAuthToken,
        publicUrl: config.publicUrl,
        voice: { voice: config.twilioVoice, language: config.twilioLanguage },
      },
      // PAGE_DIAL_OUT: the page has no API token, so a joined browser may dial only when allowed.
      signaling: { rooms, webRtcListen, ...(config.pageDialOut && { dialOut: sipService.dialOut }) },
      webAssetsDir: options.webAssetsDir ?? config.webAssetsDir ?? BUILT_WEB_ASSETS_DIR,
    });
    closers.push(() => http.close());
    // Run first: what is live ends while browsers' sockets are still open to hear why.
    closers.push(async (reason) => {
      drain.stop();
      admission.drain();
      await sipService.endCalls(CALL_END_REASON[reason]);
      await rooms.closeAll(reason);
    });
    if (!config.drachtioAddress) {
      log.warn('DRACHTIO_ADDRESS is not set: running the embedded drachtio-server stand-in, meant for trying the gateway out; production sets DRACHTIO_ADDRESS to a real drachtio-server');
    }
    if (config.redisUrl && config.sipClusterMode === 'proxy' && !config.sipClusterSecret) {
      log.warn('SIP_CLUSTER_SECRET is not set: a call for a meeting another node hosts is redirected there (302), not proxied');
    }
    if (!config.apiToken) log.warn('API_TOKEN is not set: the REST API answers only on loopback');
    if (!config.metricsToken) log.info('METRICS_TOKEN is not set: GET /metrics answers only on loopback');
    if (!config.webhookUrl) log.info('WEBHOOK_URL is not set: no call, participant or meeting events are posted');
    if (!config.twilioAuthToken) log.info('TWILIO_AUTH_TOKEN is not set: the Twilio webhooks answer 503');
    const httpUrl = await http.listen({ host: config.httpHost, port: config.httpPort });
    // Published once this node serves: peers send browsers here from now on.
    const presence = new NodePresence(
      cluster,
      {
        nodeId,
        publicUrl: config.publicUrl,
        sipUri: () => `sip:${sipService.frontEnd.contactHostport ?? config.sipDomain}`,
        state: () => (drain.draining ? 'draining' : 'serving'),
        endingRelays: () => drain.endingRelays,
        load: () => rooms.members,
      },
      log.child({ component: 'cluster' }),
    );
    await presence.start();
    publishPresence = () => presence.publishNow();
    // Run first on close: peers stop sending browsers here before anything ends.
    closers.push(() => presence.stop());
    if (store instanceof RedisStore) {
      // A peer that dies leaves its calls, participants and leases in Redis: the live nodes clear them.
      const cleanup = new GoneNodeCleanup(cluster, store, { nodeId, ...(events && { observer: events }) }, log.child({ component: 'cluster' }));
      closers.push(() => cleanup.close());
      // A draining peer whose time is up cannot end the calls it proxied here: this node does.
      const relayedCallEnds = new RelayedCallEnds(cluster, { endCallsVia: (viaNodeIds) => sipService.endCallsVia(viaNodeIds, CALL_END_REASON.draining) }, log.child({ component: 'cluster' }));
      closers.push(() => relayedCallEnds.close());
    }

    log.info({ httpUrl, sipDomain: config.sipDomain }, 'gateway started');
    return {
      config,
      store,
      workers,
      mediaPlane,
      meetings,
      rooms,
      nodeId,
      ownership,
      admission,
      sip: sipService,
      sipCredentials,
      phoneNumbers,
      metrics,
      callEvents,
      http,
      httpUrl,
      drain: () => drain.start(),
      close,
      whenClosed: () => closed,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
