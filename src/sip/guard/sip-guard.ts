/**
 * The SIP side's defence against scanners and password guessers, run on every
 * out-of-dialog request before any digest work (drachtio-srf routes in-dialog requests to
 * their dialogs before its middleware, so calls in progress never pass through here):
 * - a source over SIP_MAX_REQUESTS_PER_SECOND is dropped (this node, in memory);
 * - a scanner's User-Agent bans its source on sight;
 * - a banned source is dropped without an answer (SilentDrop);
 * - failed authentications are counted per source and per username over a sliding
 *   window in the store (every node agrees): SIP_AUTH_MAX_FAILURES from one source bans
 *   it for SIP_BAN_SECONDS, doubled per repeat; as many against one username, from
 *   anywhere, slow every answer for it by SLOW_DOWN_MS, which slows a spread-out attack
 *   but still lets the owner in from a new address with the right password;
 * - set-ups in flight are capped per source and per credential.
 *
 * A store that fails (Redis down) or stalls (no answer within STORE_TIMEOUT_MS) fails open
 * here: nothing is banned or counted until it answers again, and the call set-up's own
 * store access answers 503 (or holds the set-up) as it always has. Refusing
 * everyone because the ban list cannot be read would turn Redis being down into an outage
 * of every new call for a reason the caller cannot be told.
 */
import type { SipGuardConfig } from '../../config/config.js';
import type { Logger } from '../../logger.js';
import type { SipBan, SipGuardStore } from '../../store/sip-guard-store.js';
import { withTimeout } from '../../timeout.js';
import type { SipRequest, SipResponse } from '../srf.js';
import { FailureReport } from './failure-report.js';
import { RequestRate } from './request-rate.js';
import { scannerWord } from './scanner-user-agent.js';
import { SetupSlots } from './setup-slots.js';
import { SilentDrop } from './silent-drop.js';
import { type CallerAddress, type ViaCarrier, callerAddress } from './caller-address.js';
import { type SourceTest, trustedSources, unmapped } from './trusted-sources.js';

/** How long every answer for a username under attack waits. */
export const SLOW_DOWN_MS = 2000;
/** A guard lookup the store has not answered by then counts as failed: a stalled Redis must not hold every request here. */
const STORE_TIMEOUT_MS = 250;
/** How often bans that ended are taken out of drachtio-server's blacklist set. */
const SWEEP_INTERVAL_MS = 60_000;

/** Why an authentication failed, for the debug log; the caller is told the same for all three. */
export type AuthFailureReason = 'unknown-user' | 'wrong-password' | 'other-meeting';

export interface AuthFailure {
  readonly source: string;
  readonly username: string;
  readonly reason: AuthFailureReason;
}

/** What the SIP guard has done since start: a read-only snapshot for metrics. */
export interface SipGuardCounters {
  /** Requests dropped for SIP_MAX_REQUESTS_PER_SECOND (a banned flood's included: the rate is checked first). */
  readonly droppedRateLimited: number;
  /** Requests dropped because their source is banned. */
  readonly droppedBanned: number;
  /** Bans this node made, scanner bans among them. */
  readonly bans: number;
  readonly scannerBans: number;
  readonly authFailures: number;
  /** Authentications slowed because their username was under attack. */
  readonly slowedAuthentications: number;
  /** Answers on a used-up nonce, given a fresh challenge. */
  readonly spentNonceRetries: number;
  readonly setupsRefusedPerSource: number;
  readonly setupsRefusedPerCredential: number;
  readonly storeErrors: number;
  /** Dropped requests whose answer is being held back now (see SilentDrop). */
  readonly requestsHeld: number;
}

/** The bans as the API sees them. */
export interface SipBanList {
  list(): Promise<SipBan[]>;
  /** false when the address had no ban running. */
  lift(address: string): Promise<boolean>;
}

type Counted = Exclude<keyof SipGuardCounters, 'requestsHeld'>;

export class SipGuard implements SipBanList {
  private readonly rate: RequestRate;
  private readonly trusted: SourceTest;
  private readonly caller: CallerAddress;
  private readonly sourceSetups: SetupSlots;
  private readonly credentialSetups: SetupSlots;
  private readonly dropper = new SilentDrop();
  private readonly report: FailureReport;
  private readonly sweeper: NodeJS.Timeout;
  private readonly counts: Record<Counted, number> = {
    droppedRateLimited: 0,
    droppedBanned: 0,
    bans: 0,
    scannerBans: 0,
    authFailures: 0,
    slowedAuthentications: 0,
    spentNonceRetries: 0,
    setupsRefusedPerSource: 0,
    setupsRefusedPerCredential: 0,
    storeErrors: 0,
  };
  private storeDown = false;

  constructor(
    private readonly config: SipGuardConfig,
    private readonly store: SipGuardStore,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.rate = new RequestRate(config.maxRequestsPerSecond);
    this.trusted = trustedSources(config.trustedSources);
    this.caller = callerAddress(trustedSources(config.frontSources));
    this.sourceSetups = new SetupSlots(config.maxSetupsPerSource);
    this.credentialSetups = new SetupSlots(config.maxSetupsPerCredential);
    this.report = new FailureReport(config.windowMs, log);
    this.sweeper = setInterval(() => void this.guarded(() => store.sweep(this.now()), undefined), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** drachtio-srf middleware (srf.use): passes a request on, or drops it without an answer. */
  middleware(): (request: SipRequest, response: SipResponse, next: () => void) => void {
    return (request, response, next) => {
      this.screen(request)
        .then((pass) => (pass ? next() : this.dropper.drop(response)))
        // A handler after us that throws would otherwise be an unhandled rejection, which ends the process.
        .catch((err: unknown) => this.log.error({ err, method: request.method, callId: request.get('Call-ID') }, 'SIP request handling failed'));
    };
  }

  /** Whether an out-of-dialog request may go on; never rejects. */
  async screen(request: SipRequest): Promise<boolean> {
    // An ACK or CANCEL belongs to an INVITE transaction that was screened already.
    if (request.method === 'ACK' || request.method === 'CANCEL') return true;
    const source = this.caller(request);
    const now = this.now();
    if (!this.trusted(source) && !this.rate.allow(source, now)) {
      this.counts.droppedRateLimited++;
      return false;
    }
    const scanner = scannerWord(request.get('User-Agent'), this.config.scannerUserAgents);
    if (scanner) {
      if (await this.ban(source, now, 0, `scanner User-Agent (${scanner})`)) this.counts.scannerBans++;
      return false;
    }
    if (await this.guarded(() => this.store.activeBan(source, now), undefined)) {
      this.counts.droppedBanned++;
      return false;
    }
    return true;
  }

  /** The caller's address: the request's source, or behind a SIP front the address the front received it from. */
  callerOf(request: ViaCarrier): string {
    return this.caller(request);
  }

  /** A set-up slot for the source; undefined when it has SIP_MAX_SETUPS_PER_SOURCE in flight. Trusted sources are not capped. */
  takeSourceSetup(source: string): (() => void) | undefined {
    const address = unmapped(source);
    if (this.trusted(address)) return () => undefined;
    const release = this.sourceSetups.take(address);
    if (!release) this.counts.setupsRefusedPerSource++;
    return release;
  }

  /** A set-up slot for the credential; undefined when it has SIP_MAX_SETUPS_PER_CREDENTIAL in flight. */
  takeCredentialSetup(username: string): (() => void) | undefined {
    const release = this.credentialSetups.take(username);
    if (!release) this.counts.setupsRefusedPerCredential++;
    return release;
  }

  /** Counts a failed authentication against its source and username; bans the source at the limit. Never rejects. */
  async failed(failure: AuthFailure): Promise<void> {
    const source = unmapped(failure.source);
    const now = this.now();
    this.counts.authFailures++;
    this.report.note(source, failure.username);
    const { windowMs, maxFailures } = this.config;
    const fromSource = await this.guarded(async () => {
      const [count] = await Promise.all([
        this.store.recordFailure('source', source, now, windowMs),
        this.store.recordFailure('username', failure.username, now, windowMs),
      ]);
      return count;
    }, 0);
    if (fromSource >= maxFailures) await this.ban(source, now, fromSource, `${fromSource} failed authentications in ${windowMs / 1000} s`);
  }

  /** Whether the username has had SIP_AUTH_MAX_FAILURES within the window, from anywhere: its answers are then slowed. */
  async underAttack(username: string): Promise<boolean> {
    const { windowMs, maxFailures } = this.config;
    const attacked = (await this.guarded(() => this.store.failures('username', username, this.now(), windowMs), 0)) >= maxFailures;
    if (attacked) this.counts.slowedAuthentications++;
    return attacked;
  }

  /** A nonce a failed answer used up is answered with a fresh challenge, never checked again. */
  async isNonceSpent(nonce: string): Promise<boolean> {
    const spent = await this.guarded(() => this.store.isNonceSpent(nonce), false);
    if (spent) this.counts.spentNonceRetries++;
    return spent;
  }

  async spendNonce(nonce: string, ttlMs: number): Promise<void> {
    await this.guarded(() => this.store.spendNonce(nonce, ttlMs), undefined);
  }

  /**
   * Spends a single-use nonce (a hand-off token's MAC) in one store step: true for its first
   * use, false for a replay. Fails open as the rest of the guard does: with the store down, true.
   */
  async spendNonceIfNew(nonce: string, ttlMs: number): Promise<boolean> {
    const first = await this.guarded(() => this.store.spendNonceIfNew(nonce, ttlMs), true);
    if (!first) this.counts.spentNonceRetries++;
    return first;
  }

  list(): Promise<SipBan[]> {
    return this.store.listBans(this.now());
  }

  async lift(address: string): Promise<boolean> {
    const lifted = await this.store.unban(address, this.now());
    if (lifted) this.log.info({ address }, 'SIP ban lifted');
    return lifted;
  }

  counters(): SipGuardCounters {
    return { ...this.counts, requestsHeld: this.dropper.holding };
  }

  /** Stops the timers, logs the last failure counts and answers the requests still held. */
  close(): void {
    clearInterval(this.sweeper);
    this.report.close();
    this.dropper.close();
  }

  /** Bans the source; true when this made a new ban (a running one is left as it is). */
  private async ban(source: string, now: number, failures: number, reason: string): Promise<boolean> {
    const ban = await this.guarded(() => this.store.ban({ address: source, now, baseMs: this.config.banMs, failures, reason }), undefined);
    // A ban already running is returned as it was: only the one made now is announced.
    if (!ban || ban.bannedAt !== now || ban.failures !== failures) return false;
    this.counts.bans++;
    this.log.warn({ address: source, failures, strike: ban.strike, seconds: Math.round((ban.until - now) / 1000), reason }, 'SIP source banned');
    return true;
  }

  /** Runs a store call; on failure or timeout counts it, logs the first of an outage, and gives fallback (fail open). */
  private async guarded<T>(call: () => Promise<T>, fallback: T): Promise<T> {
    try {
      const result = await withTimeout(call(), STORE_TIMEOUT_MS, 'the SIP guard\'s store lookup');
      if (this.storeDown) this.log.info('SIP guard: the store answers again; bans and failure counts are back');
      this.storeDown = false;
      return result;
    } catch (err) {
      this.counts.storeErrors++;
      if (!this.storeDown) this.log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'SIP guard: the store is unavailable; no bans are enforced or counted until it is back');
      this.storeDown = true;
      return fallback;
    }
  }
}
