/**
 * REGISTER with the trunks that ask for it (`register: {expires}`): each is registered
 * once drachtio-server is connected, its Contact drachtio-server's UDP address (its TLS
 * one for a TLS trunk); refreshed when 80 % of the granted time has run; after a failure
 * (a non-2xx, no answer, or not connected yet) tried again after 1 s, 2 s, 4 s ... up to
 * 5 minutes. A 401/407 is
 * answered with the trunk's credentials by drachtio-srf. A deleted trunk is unregistered
 * (Expires: 0). Each node registers its own Contact.
 */
import type { Logger } from '../logger.js';
import { type TrunkRegistrar, type RegistrationView, trunkAddress } from '../pstn/trunks.js';
import type { Trunk } from '../store/store.js';
import type { SipFinalResponse, SrfApp } from './srf.js';

const REFRESH_AT = 0.8;
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 5 * 60_000;
/** How long a REGISTER may go unanswered: drachtio-server reports 408 after 64·T1 (32 s); a little more. */
const ANSWER_TIMEOUT_MS = 40_000;

export interface TrunkRegistrationDeps {
  readonly srf: Pick<SrfApp, 'request'>;
  /** drachtio-server's host:port for UDP (TLS for a TLS trunk); undefined until connected, or without a TLS contact. */
  readonly contactHostport: (transport: 'udp' | 'tls') => string | undefined;
  /** Why nothing may be sent over TLS here, when that is so (see DialOutDeps.tlsRefusal). */
  readonly tlsRefusal: string | undefined;
  readonly log: Logger;
}

interface Registration {
  trunk: Trunk;
  view: RegistrationView;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
}

export class TrunkRegistrations implements TrunkRegistrar {
  private readonly registrations = new Map<string, Registration>();

  constructor(private readonly deps: TrunkRegistrationDeps) {}

  /** Registers the trunk (again, if it was): at once, then on its own schedule. */
  follow(trunk: Trunk): void {
    if (!trunk.register) return;
    this.stop(trunk.id);
    const registration: Registration = { trunk, view: { state: 'registering', failures: 0 }, timer: undefined, stopped: false };
    this.registrations.set(trunk.id, registration);
    void this.register(registration);
  }

  /** Stops registering the trunk and, when it was registered, removes its binding. */
  forget(id: string): void {
    const registration = this.registrations.get(id);
    if (!registration) return;
    this.stop(id);
    if (registration.view.state === 'registered') void this.send(registration.trunk, 0).catch(() => undefined);
  }

  status(id: string): RegistrationView | undefined {
    return this.registrations.get(id)?.view;
  }

  /**
   * For /readyz: undefined when every registering trunk is registered (or none registers),
   * else each trunk's state, e.g. "carrier: registered; pbx: failed 3 times (the trunk
   * answered 503 Service Unavailable)".
   */
  problem(): string | undefined {
    const views = [...this.registrations.entries()].sort(([a], [b]) => a.localeCompare(b));
    if (views.every(([, { view }]) => view.state === 'registered')) return undefined;
    return views.map(([id, { view }]) => `${id}: ${describe(view)}`).join('; ');
  }

  /** Stops every schedule (the bindings run out by themselves). */
  close(): void {
    for (const id of [...this.registrations.keys()]) this.stop(id);
  }

  private stop(id: string): void {
    const registration = this.registrations.get(id);
    if (!registration) return;
    registration.stopped = true;
    clearTimeout(registration.timer);
    this.registrations.delete(id);
  }

  private async register(registration: Registration): Promise<void> {
    const { trunk } = registration;
    const log = this.deps.log.child({ trunk: trunk.id });
    const expires = trunk.register!.expires;
    try {
      const response = await this.send(trunk, expires);
      if (registration.stopped) return;
      if (response.status >= 300) throw new RegistrationRefused(response.status, response.reason);
      const granted = grantedSeconds(response, expires);
      const wasFailing = registration.view.state !== 'registered';
      registration.view = { state: 'registered', failures: 0, expiresAt: Date.now() + granted * 1000 };
      if (wasFailing) log.info({ expires: granted }, 'registered with the trunk');
      this.schedule(registration, granted * 1000 * REFRESH_AT);
    } catch (err) {
      if (registration.stopped) return;
      const failures = registration.view.failures + 1;
      const status = err instanceof RegistrationRefused ? err.status : undefined;
      const reason = err instanceof Error ? err.message : String(err);
      registration.view = { state: 'failed', failures, reason, ...(status !== undefined && { sipStatus: status }) };
      const retryMs = Math.min(FIRST_RETRY_MS * 2 ** (failures - 1), MAX_RETRY_MS);
      log.warn({ sipStatus: status, reason, failures, retryMs }, 'registration with the trunk failed');
      this.schedule(registration, retryMs);
    }
  }

  private schedule(registration: Registration, delayMs: number): void {
    registration.timer = setTimeout(() => void this.register(registration), delayMs);
    registration.timer.unref();
  }

  /** One REGISTER (with the digest answer to a challenge, if needed): its final response. */
  private send(trunk: Trunk, expires: number): Promise<SipFinalResponse & { readonly reason: string }> {
    const address = trunkAddress(trunk.address);
    if (!address) return Promise.reject(new Error(`not a trunk address: ${trunk.address}`));
    const { scheme, host, port, transport, tls } = address;
    if (tls && this.deps.tlsRefusal !== undefined) return Promise.reject(new Error(`cannot register over TLS: ${this.deps.tlsRefusal}`));
    const contact = this.deps.contactHostport(tls ? 'tls' : 'udp');
    if (!contact) return Promise.reject(new Error(tls ? 'drachtio-server has no TLS contact (or is not connected yet)' : 'not connected to drachtio-server yet'));
    const user = trunk.username ?? trunk.id;
    const aor = `<${scheme}:${user}@${host}>`;
    const auth = trunk.username !== undefined && trunk.password !== undefined ? { username: trunk.username, password: trunk.password } : undefined;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to the REGISTER')), ANSWER_TIMEOUT_MS);
      timer.unref();
      this.deps.srf.request(
        `${scheme}:${host}${port}${transport}`,
        {
          method: 'REGISTER',
          // Over TLS, drachtio-server's TLS address: the calls the trunk sends to the binding come over TLS too.
          headers: { To: aor, From: aor, Contact: `<${scheme}:${user}@${contact}${transport}>`, Expires: String(expires) },
          ...(auth && { auth }),
        },
        (err, request) => {
          if (err) {
            clearTimeout(timer);
            return reject(err);
          }
          request.on('response', (response) => {
            if (response.status < 200) return;
            clearTimeout(timer);
            resolve(response);
          });
        },
      );
    });
  }
}

class RegistrationRefused extends Error {
  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(`the trunk answered ${status} ${reason}`.trim());
  }
}

function describe(view: RegistrationView): string {
  if (view.state !== 'failed') return view.state;
  return `failed ${view.failures === 1 ? 'once' : `${view.failures} times`} (${view.reason ?? 'no reason'})`;
}

/** The registrar's grant: the Expires header, else our request's. */
function grantedSeconds(response: SipFinalResponse, asked: number): number {
  const contactExpires = /;\s*expires=(\d+)/i.exec(response.get('Contact') ?? '')?.[1];
  const granted = Number(contactExpires ?? response.get('Expires') ?? asked);
  return Number.isFinite(granted) && granted > 0 ? granted : asked;
}

