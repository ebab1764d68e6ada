/**
 * RFC 3261 section 17 transaction state machines (with the RFC 6026 "accepted" states),
 * reduced to what the stand-in needs. They own retransmission and timeout timers and
 * hand bytes to a sender bound to the right peer; the cores decide what to send.
 */
import type { Timer, TimerSet } from './timers.js';

export interface TransactionContext {
  readonly timers: TimerSet;
  /** Sends bytes to the transaction's peer. */
  readonly send: (data: Buffer) => void;
  /** TCP: no retransmissions, and the "wait for stragglers" timers are zero. */
  readonly reliable: boolean;
}

/**
 * Retransmits `data` at T1, 2*T1, 4*T1 ... capped at `cap` (timers A, E and G) until cancelled.
 * A due retransmission first lets the input already received be read: when the event loop
 * was held past the timer, the ACK or response that ends it may be waiting on the socket.
 */
function retransmitter(ctx: TransactionContext, data: () => Buffer, cap: number): Timer {
  let interval = ctx.timers.values.t1;
  let timer: Timer;
  let cancelled = false;
  const schedule = () => {
    timer = ctx.timers.start(interval, () =>
      ctx.timers.afterPendingInput(() => {
        if (cancelled) return;
        ctx.send(data());
        interval = Math.min(interval * 2, cap);
        schedule();
      }),
    );
  };
  schedule();
  return {
    cancel: () => {
      cancelled = true;
      timer.cancel();
    },
  };
}

const NONE: Timer = { cancel: () => undefined };

/** What every transaction has: its state, its two timers, and one way to end that stops both. */
abstract class Transaction<State extends string, Hooks extends { onTerminated(): void }> {
  protected retransmit: Timer = NONE;
  protected timeout: Timer = NONE;

  constructor(
    public state: State | 'terminated',
    protected readonly ctx: TransactionContext,
    protected readonly hooks: Hooks,
  ) {}

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.retransmit.cancel();
    this.timeout.cancel();
    this.hooks.onTerminated();
  }
}

export type InviteServerState = 'proceeding' | 'accepted' | 'completed' | 'confirmed' | 'terminated';

/**
 * INVITE server transaction. 2xx responses are retransmitted here too, the way
 * drachtio-server does it on its dialog timers: G doubling from T1 capped at T2 until the
 * ACK arrives (UDP only), and `onAckTimeout` at 64*T1 (UDP and TCP).
 */
export class InviteServerTransaction extends Transaction<InviteServerState, { onTerminated(): void; onAckTimeout(): void }> {
  /** Status of the final response sent, 0 while none. */
  finalStatus = 0;
  private latest: Buffer | undefined;

  constructor(ctx: TransactionContext, hooks: { onTerminated(): void; onAckTimeout(): void }) {
    super('proceeding', ctx, hooks);
  }

  get lastResponse(): Buffer | undefined {
    return this.latest;
  }

  respond(status: number, data: Buffer): void {
    this.latest = data;
    this.ctx.send(data);
    if (status < 200) return;
    this.finalStatus = status;
    const { t1, t2 } = this.ctx.timers.values;
    if (status < 300) {
      this.state = 'accepted';
      // Over TCP drachtio-server does not re-send the 2xx but still ends an unACKed dialog.
      if (!this.ctx.reliable) this.retransmit = retransmitter(this.ctx, () => data, t2);
      this.timeout = this.ctx.timers.start(64 * t1, () => {
        this.retransmit.cancel();
        this.hooks.onAckTimeout();
      });
      return;
    }
    this.state = 'completed';
    if (!this.ctx.reliable) this.retransmit = retransmitter(this.ctx, () => data, t2);
    this.timeout = this.ctx.timers.start(64 * t1, () => this.terminate());
  }

  /**
   * A 2xx a proxy passes on from the callee: sent once (the callee retransmits its own, and
   * the caller's ACK goes to the callee), then INVITE retransmissions are absorbed for 64*T1.
   */
  relay2xx(status: number, data: Buffer): void {
    this.latest = data;
    this.finalStatus = status;
    this.state = 'accepted';
    this.ctx.send(data);
    this.timeout.cancel();
    this.timeout = this.ctx.timers.start(64 * this.ctx.timers.values.t1, () => this.terminate());
  }

  /** A retransmitted INVITE: re-send the latest response (100 Trying, a provisional or the final). */
  onRequestRetransmission(): void {
    if (this.latest && this.state !== 'confirmed' && this.state !== 'terminated') this.ctx.send(this.latest);
  }

  /** ACK for a non-2xx final: stop retransmitting, absorb stray ACKs for T4 (timer I), then end. */
  onNon2xxAck(): void {
    if (this.state !== 'completed') return;
    this.state = 'confirmed';
    this.retransmit.cancel();
    this.timeout.cancel();
    this.timeout = this.ctx.timers.start(this.ctx.reliable ? 0 : this.ctx.timers.values.t4, () => this.terminate());
  }

  /** ACK for the 2xx: stop retransmitting it, keep absorbing INVITE retransmissions until 64*T1 (timer L). */
  on2xxAck(): void {
    if (this.state !== 'accepted') return;
    this.retransmit.cancel();
    this.timeout.cancel();
    this.timeout = this.ctx.timers.start(64 * this.ctx.timers.values.t1, () => this.terminate());
  }
}

export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

export class NonInviteServerTransaction extends Transaction<NonInviteServerState, { onTerminated(): void }> {
  private latest: Buffer | undefined;

  constructor(ctx: TransactionContext, hooks: { onTerminated(): void }) {
    super('trying', ctx, hooks);
  }

  get lastResponse(): Buffer | undefined {
    return this.latest;
  }

  /** Any final is sent, a 408 too: RFC 4320 says not to, but drachtio-server sends an app's 408. */
  respond(status: number, data: Buffer): void {
    this.latest = data;
    this.ctx.send(data);
    if (status < 200) {
      this.state = 'proceeding';
      return;
    }
    this.state = 'completed';
    // Timer J: absorb request retransmissions for 64*T1 over UDP.
    this.timeout = this.ctx.timers.start(this.ctx.reliable ? 0 : 64 * this.ctx.timers.values.t1, () => this.terminate());
  }

  onRequestRetransmission(): void {
    if (this.latest && this.state !== 'terminated') this.ctx.send(this.latest);
  }
}

export interface ClientHooks {
  /** Every response, with retransmissions of a final response flagged. */
  onResponse(status: number, retransmission: boolean): void;
  /** Timer B/F fired before any final response. */
  onTimeout(): void;
  onTerminated(): void;
}

export type ClientState = 'calling' | 'proceeding' | 'accepted' | 'completed' | 'terminated';

/**
 * What both client transactions do first: send the request, retransmit it over UDP
 * (timer E or A, doubling up to `retransmitCap`), and give up at 64*T1 (timer F or B).
 */
abstract class ClientTransaction extends Transaction<ClientState, ClientHooks> {
  constructor(
    ctx: TransactionContext,
    private readonly request: Buffer,
    hooks: ClientHooks,
  ) {
    super('calling', ctx, hooks);
  }

  /** The longest interval between retransmissions. */
  protected abstract retransmitCap(): number;

  start(): void {
    this.ctx.send(this.request);
    if (!this.ctx.reliable) this.retransmit = retransmitter(this.ctx, () => this.request, this.retransmitCap());
    this.timeout = this.ctx.timers.start(64 * this.ctx.timers.values.t1, () => {
      this.retransmit.cancel();
      this.hooks.onTimeout();
      this.terminate();
    });
  }
}

/** Non-INVITE client transaction: timer E retransmits, F gives up, K absorbs late finals. */
export class NonInviteClientTransaction extends ClientTransaction {
  protected retransmitCap(): number {
    return this.ctx.timers.values.t2;
  }

  onResponse(status: number): void {
    if (this.state === 'completed' || this.state === 'terminated') {
      if (status >= 200) this.hooks.onResponse(status, true);
      return;
    }
    if (status < 200) {
      this.state = 'proceeding';
      this.hooks.onResponse(status, false);
      return;
    }
    this.state = 'completed';
    this.retransmit.cancel();
    this.timeout.cancel();
    this.hooks.onResponse(status, false);
    this.timeout = this.ctx.timers.start(this.ctx.reliable ? 0 : this.ctx.timers.values.t4, () => this.terminate());
  }
}

/**
 * INVITE client transaction: timer A retransmits, B gives up; a non-2xx final is ACKed
 * here and that ACK re-sent for each retransmission during timer D; 2xx
 * retransmissions are reported for 64*T1 (timer M) so the dialog layer can re-send its ACK.
 */
export class InviteClientTransaction extends ClientTransaction {
  private ack: Buffer | undefined;

  /** Timer A doubles without a cap (RFC 3261 §17.1.1.2). */
  protected retransmitCap(): number {
    return Number.POSITIVE_INFINITY;
  }

  /** A CANCEL was sent: without a final response within 64*T1 the transaction gives up (RFC 3261 9.1). */
  giveUpAfterCancel(): void {
    if (this.state !== 'calling' && this.state !== 'proceeding') return;
    this.timeout.cancel();
    this.timeout = this.ctx.timers.start(64 * this.ctx.timers.values.t1, () => {
      this.retransmit.cancel();
      this.hooks.onTimeout();
      this.terminate();
    });
  }

  /** `ackFor` builds the ACK for a non-2xx final (it needs that response's To tag). */
  onResponse(status: number, ackFor: () => Buffer): void {
    const { t1 } = this.ctx.timers.values;
    if (this.state === 'completed') {
      if (this.ack && status >= 300) this.ctx.send(this.ack);
      return;
    }
    if (this.state === 'accepted' || this.state === 'terminated') {
      if (status >= 200 && status < 300) this.hooks.onResponse(status, true);
      return;
    }
    this.retransmit.cancel();
    if (status < 200) {
      // Timer B only runs in Calling (RFC 3261 17.1.1.2): a ringing callee may take minutes.
      if (this.state === 'calling') this.timeout.cancel();
      this.state = 'proceeding';
      this.hooks.onResponse(status, false);
      return;
    }
    this.timeout.cancel();
    if (status < 300) {
      this.state = 'accepted';
      this.hooks.onResponse(status, false);
      this.timeout = this.ctx.timers.start(64 * t1, () => this.terminate());
      return;
    }
    this.state = 'completed';
    this.ack = ackFor();
    this.ctx.send(this.ack);
    this.hooks.onResponse(status, false);
    this.timeout = this.ctx.timers.start(this.ctx.reliable ? 0 : 64 * t1, () => this.terminate());
  }
}
