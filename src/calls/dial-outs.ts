/**
 * The calls the gateway dials out, as the call API shows them: whom each calls, how far it
 * got (calling, ringing, answered) and how it ended (busy, no-answer, failed with the SIP
 * status and reason, cancelled, ended). A finished dial-out is kept a while, so a client
 * that polls GET /api/calls/:callId learns its outcome after the call itself is gone.
 */

export type DialOutState = 'calling' | 'ringing' | 'answered' | 'busy' | 'no-answer' | 'failed' | 'cancelled' | 'ended';

export interface DialOutStatus {
  readonly callId: string;
  readonly meetingId: string;
  /** The SIP URI dialled. */
  readonly to: string;
  readonly state: DialOutState;
  /** The final response that ended it before the answer. */
  readonly sipStatus?: number;
  readonly reason?: string;
  /** When the INVITE was sent (epoch ms). */
  readonly startedAt: number;
}

/** What POST /api/meetings/:id/dial-out asks for. */
export interface DialOutRequest {
  /** `sip:user@host[:port]`; through a trunk, a number. */
  readonly to: string;
  /** The trunk (its id) the number is dialled through. */
  readonly trunk?: string;
  /** How the callee appears in the meeting; from `to` when absent. */
  readonly displayName?: string;
  /** How long it may ring before it is cancelled as no-answer. */
  readonly timeoutSeconds?: number;
}

/** Dialling out, as the HTTP side sees it (the SIP side does it). */
export interface DialOutService {
  /** Validates the request and starts the call; resolves with its id once the INVITE is on its way. */
  dial(meetingId: string, request: DialOutRequest): Promise<{ callId: string }>;
}

const FINISHED: ReadonlySet<DialOutState> = new Set(['busy', 'no-answer', 'failed', 'cancelled', 'ended']);
/** How long a finished dial-out stays visible, and how many are kept at most. */
const KEEP_FINISHED_MS = 10 * 60_000;
const MAX_FINISHED = 1000;

export class DialOuts {
  private readonly records = new Map<string, DialOutStatus>();
  private readonly finishedAt = new Map<string, number>();

  /** `changed` hears of every state a dial-out reaches (the meeting's browsers are told). */
  constructor(
    private readonly changed: (status: DialOutStatus) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  start(record: Omit<DialOutStatus, 'state' | 'startedAt'>): void {
    this.prune();
    const status: DialOutStatus = { ...record, state: 'calling', startedAt: this.now() };
    this.records.set(record.callId, status);
    this.changed(status);
  }

  /** Moves a dial-out on; a finished one stays as it ended. */
  update(callId: string, state: DialOutState, detail: { sipStatus?: number; reason?: string } = {}): void {
    const record = this.records.get(callId);
    if (!record || FINISHED.has(record.state)) return;
    const status: DialOutStatus = { ...record, state, ...detail };
    this.records.set(callId, status);
    if (FINISHED.has(state)) this.finishedAt.set(callId, this.now());
    this.changed(status);
  }

  get(callId: string): DialOutStatus | undefined {
    return this.records.get(callId);
  }

  private prune(): void {
    const cutoff = this.now() - KEEP_FINISHED_MS;
    for (const [callId, at] of this.finishedAt) {
      if (at > cutoff && this.finishedAt.size <= MAX_FINISHED) break;
      this.finishedAt.delete(callId);
      this.records.delete(callId);
    }
  }
}
