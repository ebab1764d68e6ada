/**
 * The running gateway: every long-lived component, started in dependency order and
 * closed in reverse. main.ts and the end-to-end tests both start it through here.
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { GatewayConfig } from './config/config.js';
import { buildApp } from './http/app.js';
import type { ReadinessCheck } from './http/readiness.js';
import { BUILT_WEB_ASSETS_DIR } from './http/web-assets.js';
import type { Logger } from './logger.js';
import { MediaPlane } from './media/plane/media-plane.js';
import { WorkerPool } from './media/worker-pool.js';
import { MeetingService } from './meetings/meeting-service.js';
import { Rooms } from './media/rooms.js';
import { CallerLockout } from './pstn/caller-lockout.js';
import { PhoneNumbers } from './pstn/phone-numbers.js';
import { TwilioDialIn } from './pstn/twilio-dial-in.js';
import { MemoryNonceCountStore } from './sip/digest/nonce-count-store.js';
import { RedisNonceCountStore } from './sip/digest/redis-nonce-count-store.js';
import { SipCredentials } from './credentials/sip-credentials.js';
import { SipService } from './sip/sip-service.js';
import { RedisStore } from './store/redis-store.js';
import { openStore } from './store/open-store.js';
import type { GatewayStore } from './store/store.js';

export interface Gateway {
  readonly config: GatewayConfig;
  readonly store: GatewayStore;
  readonly workers: WorkerPool;
  readonly mediaPlane: MediaPlane;
  readonly meetings: MeetingService;
  readonly rooms: Rooms;
  readonly sip: SipService;
  readonly sipCredentials: SipCredentials;
  readonly phoneNumbers: PhoneNumbers;
  readonly http: FastifyInstance;
  /** Where the HTTP server listens, e.g. http://127.0.0.1:8080. */
  readonly httpUrl: string;
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** Where the bundled meeting page is; default: the one `npm run build` wrote into dist/public. */
  readonly webAssetsDir?: string;
}

export async function startGateway(config: GatewayConfig, log: Logger, options: GatewayOptions = {}): Promise<Gateway> {
  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  log.info({ config }, 'configuration');
  try {
    const store = await openStore(config.redisUrl, log);
    closers.push(() => store.close());

    const workers = await WorkerPool.create(
      { size: config.mediasoupWorkers, rtcMinPort: config.rtpMinPort, rtcMaxPort: config.rtpMaxPort },
      log,
    );
    closers.push(() => workers.close());

    const webRtcListen = { ip: config.rtpListenIp, announcedIp: config.announcedIp };
    const nodeId = `${hostname()}:${process.pid}`;
    const meetings = new MeetingService(store, { sipDomain: config.sipDomain, publicUrl: config.publicUrl }, log);
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
      },
      log,
    );
    meetings.onEnd((meetingId) => rooms.close(meetingId, 'meeting-ended'));
    closers.push(() => rooms.closeAll('shutdown'));

    const sipCredentials = new SipCredentials(store, meetings, { sipDomain: config.sipDomain }, log);
    // Nonce counts must be shared wherever credentials are: a replay to another node is still a replay.
    const nonceCounts = store instanceof RedisStore ? new RedisNonceCountStore(store.redis, { prefix: store.prefix }) : new MemoryNonceCountStore();
    const sip = await SipService.start({ config, meetings, rooms, store, sipCredentials, nonceCounts, nodeId, log });
    closers.push(() => sip.close('gateway shutting down'));

    const phoneNumbers = new PhoneNumbers(store, meetings, log);
    const twilioDialIn = new TwilioDialIn(
      { meetings, phoneNumbers, credentials: sipCredentials, lockout: new CallerLockout(store), store, log: log.child({ component: 'twilio' }) },
      { ivr: config.twilioIvr },
    );

    const readiness: ReadinessCheck[] = [
      { name: 'store', check: async () => void (await store.ping()) },
      { name: 'mediasoup', check: () => workers.problem() },
      { name: 'sip', check: () => sip.problem() },
    ];

    const http = await buildApp({
      log,
      apiToken: config.apiToken,
      readiness,
      meetings,
      sipCredentials,
      phoneNumbers,
      mixerStats: mediaPlane,
      twilioDialIn,
      twilio: {
        authToken: config.twilioAuthToken,
        publicUrl: config.publicUrl,
        voice: { voice: config.twilioVoice, language: config.twilioLanguage },
      },
      signaling: { rooms, webRtcListen },
      webAssetsDir: options.webAssetsDir ?? BUILT_WEB_ASSETS_DIR,
    });
    closers.push(() => http.close());
    if (!config.drachtioAddress) {
      log.warn('DRACHTIO_ADDRESS is not set: running the embedded drachtio-server stand-in, meant for trying the gateway out; production sets DRACHTIO_ADDRESS to a real drachtio-server');
    }
    if (!config.apiToken) log.warn('API_TOKEN is not set: the REST API answers only on loopback');
    if (!config.twilioAuthToken) log.info('TWILIO_AUTH_TOKEN is not set: the Twilio webhooks answer 503');
    const httpUrl = await http.listen({ host: config.httpHost, port: config.httpPort });

    log.info({ httpUrl, sipDomain: config.sipDomain }, 'gateway started');
    return { config, store, workers, mediaPlane, meetings, rooms, sip, sipCredentials, phoneNumbers, http, httpUrl, close };
  } catch (err) {
    await close();
    throw err;
  }
}
