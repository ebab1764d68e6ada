/**
 * Outbound SIP trunks: where a meeting's dial-out to a number goes (`sip:<number>@<trunk
 * host>`), with which caller id, which numbers it may call, and the digest credentials that
 * answer the trunk's 401/407. The password is stored, never shown by the API and never
 * logged.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { GatewayStore, Trunk } from '../store/store.js';

/** `sip:host[:port][;transport=udp|tcp|tls]` or `sips:host[:port][;transport=tls]` (TLS either way). */
const TRUNK_ADDRESS = /^(sips?):((?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?(;transport=(?:udp|tcp|tls))?$/i;
const ADDRESS_EXPECTED = '"address" must be sip:host[:port][;transport=udp|tcp|tls] or sips:host[:port]';

/** The parts of a trunk's address; `tls` when it is reached over TLS (a sips: address or ;transport=tls). */
export interface TrunkAddress {
  readonly scheme: 'sip' | 'sips';
  /** As written: an IPv6 address in brackets. */
  readonly host: string;
  /** `:5061`, or '' when absent. */
  readonly port: string;
  /** `;transport=tls`, or '' when absent. */
  readonly transport: string;
  readonly tls: boolean;
}

/** undefined for what is not a trunk address (sips: over UDP or TCP included: sips: is TLS). */
export function trunkAddress(address: string): TrunkAddress | undefined {
  const match = TRUNK_ADDRESS.exec(address);
  if (!match) return undefined;
  const [, scheme = '', host = '', port = '', transport = ''] = match;
  const secure = scheme.toLowerCase() === 'sips';
  const overTls = /tls$/i.test(transport);
  if (secure && transport !== '' && !overTls) return undefined;
  return { scheme: secure ? 'sips' : 'sip', host, port, transport, tls: secure || overTls };
}

const TRUNK_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** A number to dial: digits with an optional leading "+". */
const NUMBER = /^\+?\d{2,20}$/;
const PREFIX = /^\+?\d{0,15}$/;

export interface NewTrunk {
  readonly id: string;
  readonly address: string;
  readonly username?: string;
  readonly password?: string;
  readonly callerId?: string;
  readonly allowedPrefixes?: readonly string[];
  readonly register?: { readonly expires: number };
}

/** How a trunk's registration stands on this node. */
export interface RegistrationView {
  readonly state: 'registering' | 'registered' | 'failed';
  /** Failures in a row since the last success. */
  readonly failures: number;
  /** When the binding runs out (epoch ms), while registered. */
  readonly expiresAt?: number;
  /** The last failure: the trunk's status, or what else went wrong. */
  readonly sipStatus?: number;
  readonly reason?: string;
}

/** Who REGISTERs the trunks that ask for it (the SIP side). */
export interface TrunkRegistrar {
  follow(trunk: Trunk): void;
  forget(id: string): void;
  status(id: string): RegistrationView | undefined;
}

/** A trunk as the API shows it: whether it has a password, never the password. */
export interface TrunkView {
  readonly id: string;
  readonly address: string;
  readonly username?: string;
  readonly hasPassword: boolean;
  readonly callerId?: string;
  readonly allowedPrefixes: string[];
  readonly register?: { readonly expires: number };
  /** On this node, for a trunk that registers. */
  readonly registration?: { readonly state: RegistrationView['state']; readonly failures: number; readonly expiresAt?: string; readonly sipStatus?: number; readonly reason?: string };
  readonly createdAt: string;
}

/** Where and how a dial-out through a trunk goes. */
export interface TrunkRoute {
  /** `sip[s]:<number>@<host>[:port][;transport=…]`. */
  readonly uri: string;
  /** Over TLS (a sips: URI or ;transport=tls). */
  readonly tls: boolean;
  /** The From user (the caller id), when the trunk has one. */
  readonly callerId: string | undefined;
  readonly host: string;
  readonly auth: { readonly username: string; readonly password: string } | undefined;
}

/** How old the trunk list may be before an INVITE has it read again: a trunk another node created is known here within it. */
const TRUNK_LIST_MAX_AGE_MS = 5000;

export class Trunks {
  private registrar: TrunkRegistrar | undefined;
  /**
   * Each trunk host's addresses, which its calls to us come from: an IP literal as it is, a
   * DNS name as it resolved once (when the trunk was created or the node started; a trunk
   * another node created, at the first INVITE after). A carrier that moves must be created again.
   */
  private readonly hostAddresses = new Map<string, Promise<readonly string[]>>();
  /**
   * The trunks as last read from the store, for telling a trunk's INVITE from others: an
   * INVITE must not wait on the store before its call is held (a stalled Redis would hold
   * every INVITE out of the call registry, out of reach of its CANCEL). Read again in the
   * background once older than TRUNK_LIST_MAX_AGE_MS, and at once after this node changes one.
   */
  private known: { readonly trunks: readonly Trunk[]; readonly at: number } | undefined;
  /**
   * This node's creates and deletes so far. A read started before the latest of them may
   * finish after it with the list from before; it must not become `known` (a deleted trunk
   * back, a new one missing, for up to TRUNK_LIST_MAX_AGE_MS).
   */
  private writes = 0;
  /** The read in flight, and the writes it started after. */
  private reading: { readonly afterWrites: number; readonly trunks: Promise<readonly Trunk[]> } | undefined;

  constructor(
    private readonly store: Pick<GatewayStore, 'addTrunk' | 'getTrunk' | 'listTrunks' | 'deleteTrunk'>,
    private readonly log: Logger,
  ) {}

  /** Registers the trunks that ask for it from now on, those already stored first. */
  async useRegistrar(registrar: TrunkRegistrar): Promise<void> {
    this.registrar = registrar;
    for (const trunk of await this.store.listTrunks()) {
      registrar.follow(trunk);
      void this.addressesOf(trunk);
    }
  }

  /** The trunk whose host `source` (an INVITE's source address) is, if any. */
  async fromSource(source: string): Promise<Trunk | undefined> {
    const address = plainAddress(source);
    for (const trunk of await this.knownTrunks()) {
      if ((await this.addressesOf(trunk)).includes(address)) return trunk;
    }
    return undefined;
  }

  /** The trunk list: waited for only the first time, then read again behind the INVITEs that use it. */
  private async knownTrunks(): Promise<readonly Trunk[]> {
    if (!this.known) return this.readTrunks();
    if (Date.now() - this.known.at > TRUNK_LIST_MAX_AGE_MS) {
      this.readTrunks().catch((err: unknown) => this.log.warn({ err }, 'reading the trunks failed: the last list read stays in use'));
    }
    return this.known.trunks;
  }

  /** The list as the store has it now; kept as `known` unless this node wrote a trunk while it was read. */
  private readTrunks(): Promise<readonly Trunk[]> {
    if (this.reading?.afterWrites === this.writes) return this.reading.trunks;
    const afterWrites = this.writes;
    const reading = { afterWrites, trunks: this.store.listTrunks() };
    this.reading = reading;
    void reading.trunks
      .then(
        (trunks) => {
          if (afterWrites === this.writes) this.known = { trunks, at: Date.now() };
        },
        () => undefined,
      )
      .finally(() => {
        if (this.reading === reading) this.reading = undefined;
      });
    return reading.trunks;
  }

  /** After this node created or deleted a trunk: the list is read again at the next INVITE, and no read from before is kept. */
  private wrote(): void {
    this.writes++;
    this.known = undefined;
  }

  private addressesOf(trunk: Trunk): Promise<readonly string[]> {
    const host = trunkHost(trunk.address);
    let addresses = this.hostAddresses.get(host);
    if (!addresses) {
      addresses = resolveHost(host, this.log);
      this.hostAddresses.set(host, addresses);
    }
    return addresses;
  }

  /** bad_request for a bad field, conflict when the id is taken. */
  async create(input: NewTrunk): Promise<TrunkView> {
    if (!TRUNK_ID.test(input.id)) throw new GatewayError('bad_request', '"id" must be 1-64 of A-Z a-z 0-9 _ -');
    if (!trunkAddress(input.address)) throw new GatewayError('bad_request', ADDRESS_EXPECTED);
    if ((input.username === undefined) !== (input.password === undefined)) throw new GatewayError('bad_request', '"username" and "password" go together');
    const prefixes = input.allowedPrefixes ?? [];
    const badPrefix = prefixes.find((prefix) => !PREFIX.test(prefix));
    if (badPrefix !== undefined) throw new GatewayError('bad_request', `allowed prefix "${badPrefix}" is not digits with an optional leading +`);
    const trunk: Trunk = {
      id: input.id,
      address: input.address,
      ...(input.username !== undefined && { username: input.username }),
      ...(input.password !== undefined && { password: input.password }),
      ...(input.callerId !== undefined && { callerId: input.callerId }),
      allowedPrefixes: [...prefixes],
      ...(input.register && { register: { expires: input.register.expires } }),
      createdAt: Date.now(),
    };
    if (!(await this.store.addTrunk(trunk))) throw new GatewayError('conflict', `trunk "${input.id}" already exists`);
    this.log.info({ trunk: trunk.id, address: trunk.address, withCredentials: trunk.username !== undefined }, 'trunk created');
    this.registrar?.follow(trunk);
    void this.addressesOf(trunk);
    this.wrote();
    return this.view(trunk);
  }

  async list(): Promise<TrunkView[]> {
    return (await this.store.listTrunks()).sort((a, b) => a.createdAt - b.createdAt).map((trunk) => this.view(trunk));
  }

  /** not_found when unknown. */
  async get(id: string): Promise<TrunkView> {
    return this.view(await this.trunk(id));
  }

  /** not_found when unknown. */
  async delete(id: string): Promise<void> {
    if (!(await this.store.deleteTrunk(id))) throw new GatewayError('not_found', `trunk "${id}" does not exist`);
    this.registrar?.forget(id);
    this.wrote();
    this.log.info({ trunk: id }, 'trunk deleted');
  }

  /**
   * How `number` is dialled through the trunk: bad_request for what is not a number,
   * forbidden for a number none of its prefixes allow, not_found for an unknown trunk.
   */
  async route(id: string, number: string): Promise<TrunkRoute> {
    const trunk = await this.trunk(id);
    if (!NUMBER.test(number)) throw new GatewayError('bad_request', '"to" must be a number (digits, an optional leading +) when dialling through a trunk');
    if (trunk.allowedPrefixes.length > 0 && !trunk.allowedPrefixes.some((prefix) => number.startsWith(prefix))) {
      throw new GatewayError('forbidden', `trunk "${id}" may not call ${number}: allowed prefixes are ${trunk.allowedPrefixes.join(', ')}`);
    }
    const { scheme, host, port, transport, tls } = trunkAddress(trunk.address)!;
    return {
      uri: `${scheme}:${number}@${host}${port}${transport}`,
      tls,
      callerId: trunk.callerId,
      host,
      auth: trunk.username !== undefined && trunk.password !== undefined ? { username: trunk.username, password: trunk.password } : undefined,
    };
  }

  private async trunk(id: string): Promise<Trunk> {
    const trunk = await this.store.getTrunk(id);
    if (!trunk) throw new GatewayError('not_found', `trunk "${id}" does not exist`);
    return trunk;
  }

  private view(trunk: Trunk): TrunkView {
    const registration = trunk.register && this.registrar?.status(trunk.id);
    return { ...trunkView(trunk), ...(registration && { registration: registrationView(registration) }) };
  }
}

function trunkHost(address: string): string {
  const host = trunkAddress(address)?.host ?? '';
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/** A name that does not resolve matches no source (and is not looked up again). */
async function resolveHost(host: string, log: Logger): Promise<readonly string[]> {
  if (isIP(host)) return [plainAddress(host)];
  try {
    return (await lookup(host, { all: true })).map(({ address }) => plainAddress(address));
  } catch (err) {
    log.warn({ host, reason: err instanceof Error ? err.message : String(err) }, "trunk host does not resolve: no INVITE is taken as the trunk's");
    return [];
  }
}

/** An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d. */
function plainAddress(address: string): string {
  return (/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address).toLowerCase();
}

function registrationView({ state, failures, expiresAt, sipStatus, reason }: RegistrationView): NonNullable<TrunkView['registration']> {
  return {
    state,
    failures,
    ...(expiresAt !== undefined && { expiresAt: new Date(expiresAt).toISOString() }),
    ...(sipStatus !== undefined && { sipStatus }),
    ...(reason !== undefined && { reason }),
  };
}

function trunkView(trunk: Trunk): TrunkView {
  return {
    id: trunk.id,
    address: trunk.address,
    ...(trunk.username !== undefined && { username: trunk.username }),
    hasPassword: trunk.password !== undefined,
    ...(trunk.callerId !== undefined && { callerId: trunk.callerId }),
    allowedPrefixes: [...trunk.allowedPrefixes],
    ...(trunk.register && { register: trunk.register }),
    createdAt: new Date(trunk.createdAt).toISOString(),
  };
}
