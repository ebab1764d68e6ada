/**
 * Everything SIP, wired once: the connection to drachtio-server, the dial-in handler for
 * INVITEs, answers for OPTIONS and for methods the gateway does not take, and the active
 * calls, which it ends (with a BYE each) when it closes.
 */
import type { GatewayConfig } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { MeetingService } from '../meetings/meeting-service.js';
import type { Rooms } from '../media/rooms.js';
import type { GatewayStore } from '../store/store.js';
import { dialIn } from './dial-in.js';
import type { NonceCountStore } from './digest/nonce-count-store.js';
import type { PhoneCall } from './phone-call.js';
import { SipAuthenticator } from './sip-authenticator.js';
import type { SipCredentials } from '../credentials/sip-credentials.js';
import { SipFrontEnd } from './sip-front-end.js';
import { type RoutedMethod, route } from './srf.js';

const ALLOW = 'INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE';
/** Out of a dialog only: INFO and UPDATE in a call's dialog reach that call (drachtio-srf routes them to its Dialog). */
const NOT_TAKEN: readonly RoutedMethod[] = ['register', 'subscribe', 'message', 'publish', 'notify', 'refer', 'update', 'prack', 'info'];

export interface SipServiceDeps {
  readonly config: GatewayConfig;
  readonly meetings: MeetingService;
  readonly rooms: Rooms;
  readonly store: GatewayStore;
  readonly sipCredentials: SipCredentials;
  readonly nonceCounts: NonceCountStore;
  readonly nodeId: string;
  readonly log: Logger;
}

export class SipService {
  readonly calls = new Map<string, PhoneCall>();

  private constructor(readonly frontEnd: SipFrontEnd) {}

  static async start(deps: SipServiceDeps): Promise<SipService> {
    const { config, log } = deps;
    const frontEnd = await SipFrontEnd.start(config, log);
    const service = new SipService(frontEnd);
    const { srf } = frontEnd;
    const sipLog = log.child({ component: 'sip' });
    const authenticator = new SipAuthenticator(config.sipDomain, config.sipDigestAlgorithms, config.sipNonceSecret, deps.sipCredentials, deps.nonceCounts);

    srf.invite(
      dialIn({
        srf,
        authenticator,
        meetings: deps.meetings,
        rooms: deps.rooms,
        store: deps.store,
        sipCredentials: deps.sipCredentials,
        calls: service.calls,
        sipDomain: config.sipDomain,
        codecs: config.sipCodecs,
        media: {
          listenIp: config.rtpListenIp,
          announcedIp: config.announcedIp,
          minPort: config.rtpMinPort,
          maxPort: config.rtpMaxPort,
          latch: config.rtpComedia,
        },
        nodeId: deps.nodeId,
        log: sipLog,
        sessionTimer: { minSE: config.sessionMinSESeconds, sessionExpires: config.sessionExpiresSeconds },
      }),
    );
    route(srf, 'options', (_request, response) =>
      response.send(200, 'OK', { headers: { Allow: ALLOW, Accept: 'application/sdp', 'Accept-Encoding': 'identity' } }),
    );
    for (const method of NOT_TAKEN) {
      route(srf, method, (request, response) => {
        sipLog.info({ method: request.method, callId: request.get('Call-ID') }, 'method not allowed here');
        response.send(405, 'Method Not Allowed', { headers: { Allow: ALLOW } });
      });
    }
    return service;
  }

  problem(): string | undefined {
    return this.frontEnd.problem();
  }

  /** Ends every call (BYE) and disconnects from drachtio-server. */
  async close(reason: string): Promise<void> {
    await Promise.all([...this.calls.values()].map((call) => call.close({ by: 'gateway', reason })));
    await this.frontEnd.close();
  }
}
