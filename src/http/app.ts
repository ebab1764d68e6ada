/**
 * The gateway's HTTP side as one Fastify app: buildApp(deps) registers every route plugin
 * on a base that owns only what all routes share (logging, body limits, strict
 * validation, the one mapping of errors to HTTP answers). gateway.ts builds it from the
 * running components; route tests build it from in-memory ones and inject() into it.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import type { CallDirectory } from '../calls/call-views.js';
import type { DialOutService } from '../calls/dial-outs.js';
import type { MeetingPlacement } from '../cluster/meeting-ownership.js';
import type { Trunks } from '../pstn/trunks.js';
import type { DrainStatus } from '../drain.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MixerStatsSource } from './mixer-routes.js';
import type { MediaCensus } from '../media/media-census.js';
import type { MeetingService } from '../meetings/meeting-service.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { PhoneNumbers } from '../pstn/phone-numbers.js';
import type { TwilioDialIn } from '../pstn/twilio-dial-in.js';
import { MAX_FRAME_BYTES } from '../signaling/messages.js';
import type { SignalingDeps } from '../signaling/signaling-session.js';
import { adminRoutes } from './admin-routes.js';
import { requireApiToken } from './api-auth.js';
import { registerApiDocs } from './api-docs.js';
import { callRoutes } from './call-routes.js';
import { dialOutRoutes } from './dial-out-routes.js';
import { trunkRoutes } from './trunk-routes.js';
import { healthRoutes } from './health-routes.js';
import { mediaRoutes } from './media-routes.js';
import { type MeetingRoutesOptions, meetingRoutes } from './meeting-routes.js';
import { metricsRoutes } from './metrics-routes.js';
import { mixerRoutes } from './mixer-routes.js';
import { pageRoutes } from './page-routes.js';
import { phoneNumberRoutes } from './phone-number-routes.js';
import type { ReadinessCheck } from './readiness.js';
import { signalingRoutes } from './signaling-routes.js';
import { type SipBanRoutesOptions, sipBanRoutes } from './sip-ban-routes.js';
import { type SipCredentialRoutesOptions, sipCredentialRoutes } from './sip-credential-routes.js';
import { twilioCallRoutes } from './twilio-call-routes.js';
import { type TwilioRouteOptions, twilioRoutes } from './twilio-routes.js';

export interface AppDeps {
  readonly log: Logger;
  /** Unset: the REST API answers only on loopback. */
  readonly apiToken: string | undefined;
  /** Unset: GET /metrics answers only on loopback. */
  readonly metricsToken: string | undefined;
  /** What GET /metrics serves; every request's duration is observed into it. */
  readonly metrics: GatewayMetrics;
  /** The live calls of this node: GET /api/calls. */
  readonly calls: CallDirectory;
  /** POST /api/meetings/:id/dial-out. */
  readonly dialOut: DialOutService;
  /** /api/trunks. */
  readonly trunks: Trunks;
  /** What GET /readyz asks. */
  readonly readiness: readonly ReadinessCheck[];
  readonly meetings: MeetingService;
  /** Which node hosts each meeting: GET /api/meetings/:id names it, the page and signaling send browsers there. */
  readonly ownership: MeetingPlacement;
  /** The participants of this node's rooms: DELETE /api/meetings/:id/participants/:participantId. */
  readonly participants: MeetingRoutesOptions['participants'];
  readonly sipCredentials: SipCredentialRoutesOptions['credentials'];
  readonly phoneNumbers: PhoneNumbers;
  /** The SIP guard's bans: GET and DELETE /api/sip/bans. */
  readonly sipBans: SipBanRoutesOptions['bans'];
  readonly mixerStats: MixerStatsSource;
  /** What GET /api/media reports: the mediasoup objects open on this node. */
  readonly mediaCensus: MediaCensus;
  /** Starts (or reports) this node's drain: POST /api/admin/drain. */
  readonly drain: () => DrainStatus;
  readonly twilioDialIn: TwilioDialIn;
  readonly twilio: Pick<TwilioRouteOptions, 'authToken' | 'publicUrl' | 'voice'>;
  /** The media side of the signaling WebSocket. */
  readonly signaling: Pick<SignalingDeps, 'rooms' | 'webRtcListen' | 'heartbeatMs' | 'dialOut'>;
  /** Where the built meeting page is (what buildWebAssets writes); read once at registration. */
  readonly webAssetsDir: string;
}

/** Every route of the gateway on one app, not yet listening. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = await buildHttpApp(deps.log);
  try {
    await registerRoutes(app, deps);
  } catch (err) {
    await app.close();
    throw err;
  }
  return app;
}

/** Every route of the gateway, with the request metrics and the API document, on an app from buildHttpApp. */
export async function registerRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const { log, meetings, metrics } = deps;
  // By route pattern (a bounded set), never the path a request filled in.
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });
  await registerApiDocs(app);
  await app.register(healthRoutes, { readiness: deps.readiness });
  await app.register(metricsRoutes, { metrics, token: deps.metricsToken });
  await app.register(
    async (api) => {
      requireApiToken(api, deps.apiToken);
      await api.register(meetingRoutes, { meetings, participants: deps.participants, owners: deps.ownership });
      await api.register(callRoutes, { calls: deps.calls });
      await api.register(dialOutRoutes, { dialOut: deps.dialOut });
      await api.register(trunkRoutes, { trunks: deps.trunks });
      await api.register(sipCredentialRoutes, { credentials: deps.sipCredentials });
      await api.register(sipBanRoutes, { bans: deps.sipBans });
      await api.register(mixerRoutes, { source: deps.mixerStats });
      await api.register(mediaRoutes, { census: deps.mediaCensus });
      await api.register(adminRoutes, { drain: deps.drain });
      await api.register(phoneNumberRoutes, { phoneNumbers: deps.phoneNumbers });
      await api.register(twilioCallRoutes, { dialIn: deps.twilioDialIn });
    },
    { prefix: '/api' },
  );
  await app.register(twilioRoutes, { ...deps.twilio, dialIn: deps.twilioDialIn, log: log.child({ component: 'twilio' }) });
  await app.register(signalingRoutes, { ...deps.signaling, meetings, ownership: deps.ownership, log });
  await app.register(pageRoutes, { assetsDir: deps.webAssetsDir, meetingState: (id) => meetings.state(id), placement: deps.ownership });
}

const CLIENT_ERROR_CODES: Partial<Record<number, string>> = {
  401: 'unauthorized',
  404: 'not_found',
  413: 'too_large',
  415: 'unsupported_media_type',
};

/**
 * An error on an open WebSocket. A peer breaking the protocol (a text frame that is not
 * UTF-8, a frame over the size limit: ws has already closed the socket with the code for
 * it) or vanishing (ECONNRESET) is the peer's doing, worth a debug line; the plugin's
 * default logs each at error, which any client could fill a log with. Anything else is ours.
 */
function onWebSocketError(error: Error, socket: { terminate(): void }, request: FastifyRequest): void {
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && (code.startsWith('WS_ERR_') || /^E[A-Z]+$/.test(code))) {
    request.log.debug({ reason: error.message, code }, 'WebSocket closed on a protocol or connection error');
  } else {
    request.log.error({ err: error, url: request.url }, 'WebSocket handler failed');
  }
  socket.terminate();
}

/** The base every route shares: logging, body limits, strict validation, the error answers, WebSockets. */
export async function buildHttpApp(log: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: log.child({ component: 'http' }) as FastifyBaseLogger,
    // Per-request lines would drown call logs; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // Reject what does not match a schema instead of silently dropping or coercing it.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });

  app.setErrorHandler((error: FastifyError | GatewayError, request, reply) => {
    if (error instanceof GatewayError) {
      return reply.code(error.httpStatus).send({ error: error.code, message: error.message });
    }
    const status = error.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send({ error: CLIENT_ERROR_CODES[status] ?? 'bad_request', message: error.message });
    }
    request.log.error({ err: error, url: request.url }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: 'internal error' });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` }),
  );

  await app.register(websocket, { options: { maxPayload: MAX_FRAME_BYTES }, errorHandler: onWebSocketError });
  closeConnectionsWithApp(app);
  return app;
}

/**
 * Closing must not wait on connections: server.close() waits for every one, and would
 * hold a shutdown, or a drain's exit, until Node's headersTimeout (60 s) for one that has
 * sent no request (a browser's speculative preconnect, a port scan), or Fastify's
 * keepAliveTimeout (72 s) for one whose request was in flight. The first kind is cut
 * when the close begins, and any that comes during it at once; a request in flight is
 * answered with `Connection: close`, so its connection ends with it. (Fastify closes
 * idle keep-alive connections itself, and the WebSocket plugin the upgraded ones.)
 */
function closeConnectionsWithApp(app: FastifyInstance): void {
  const withoutRequest = new Set<Socket>();
  let closing = false;
  app.server.on('connection', (socket: Socket) => {
    if (closing) return socket.destroy();
    withoutRequest.add(socket);
    socket.once('close', () => withoutRequest.delete(socket));
  });
  const requested = (request: IncomingMessage) => withoutRequest.delete(request.socket);
  app.server.on('request', requested);
  app.server.on('upgrade', requested);
  app.addHook('preClose', (done) => {
    closing = true;
    for (const socket of withoutRequest) socket.destroy();
    done();
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
}
