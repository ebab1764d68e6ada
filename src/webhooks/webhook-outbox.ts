/**
 * Delivers events to WEBHOOK_URL at least once. publish() only queues the event in the
 * store and returns at once (a failure to queue is logged, never thrown): no call waits
 * for a receiver. A loop on every node claims the due ones from the store (leased, so two
 * nodes never post the same one at once), posts each signed (webhook-signature.ts) with a
 * 5 s timeout, and then removes it (a 2xx), gives it up (a 4xx other than 408, 425 and
 * 429: the receiver refuses this event, the same bytes again would not change that), or
 * schedules it again (anything else: 5xx, 408, 425, 429, a redirect, no answer, a broken
 * connection) with backoff for up to 24 h (retry-schedule.ts). With Redis, what is queued
 * outlives the node; a node that dies mid-attempt leaves the event to be taken again once
 * its lease ends.
 */
import type { Logger } from '../logger.js';
import type { GatewayStore, PendingWebhook } from '../store/store.js';
import { type WebhookEvent, envelope } from './webhook-events.js';
import { type RetrySchedule, WEBHOOK_RETRIES, nextAttemptAt } from './retry-schedule.js';
import { SIGNATURE_HEADER, signatureHeader } from './webhook-signature.js';

/**
 * What became of a webhook: delivered (2xx), retrying (an attempt failed, another is due),
 * rejected (a 4xx gave it up), expired (still failing after 24 h), dropped (never queued:
 * the queue was full or the store unavailable).
 */
export type WebhookOutcome = 'delivered' | 'retrying' | 'rejected' | 'expired' | 'dropped';

const WEBHOOK_OUTCOMES: readonly WebhookOutcome[] = ['delivered', 'retrying', 'rejected', 'expired', 'dropped'];

export interface WebhookOutboxOptions {
  readonly url: string;
  readonly secret: string;
  readonly store: Pick<GatewayStore, 'addWebhook' | 'claimDueWebhooks' | 'retryWebhook' | 'removeWebhook'>;
  readonly log: Logger;
  /** Default WEBHOOK_RETRIES; tests shorten it. */
  readonly retries?: RetrySchedule;
  /** How often the store is asked for due webhooks; default 1 s. */
  readonly pollMs?: number;
}

const ATTEMPT_TIMEOUT_MS = 5000;
/** Far longer than an attempt can take: a webhook is taken again only when its node is gone. */
const LEASE_MS = 30_000;
/** Attempts under way at once on a node. */
const MAX_IN_FLIGHT = 20;
const POLL_MS = 1000;
/** At about 1 kB an event, a receiver down for a day on a busy cluster costs at most some 100 MB. */
const MAX_PENDING_WEBHOOKS = 100_000;
/** Statuses that say "not now" rather than "not this": tried again. */
const RETRIED_CLIENT_ERRORS = new Set([408, 425, 429]);

type AttemptResult = { readonly status: number; readonly retryAfterMs?: number } | { readonly failure: string };

export class WebhookOutbox {
  private readonly outcomes = Object.fromEntries(WEBHOOK_OUTCOMES.map((outcome) => [outcome, 0])) as Record<WebhookOutcome, number>;
  private readonly poller: NodeJS.Timeout;
  private readonly aborter = new AbortController();
  /** The claim under way; one at a time. */
  private claiming: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** Something may be due that the last claim did not take. */
  private pollAgain = false;
  private closed = false;
  /** The last claim failed (the store unavailable). */
  private claimsFailing = false;
  /** Queue writes not yet settled, so close() lets them land. */
  private readonly queueing = new Set<Promise<void>>();

  constructor(private readonly options: WebhookOutboxOptions) {
    this.poller = setInterval(() => this.poll(), options.pollMs ?? POLL_MS);
    this.poller.unref();
    this.poll();
  }

  /** Queues the event for delivery; returns at once. */
  publish(event: WebhookEvent): void {
    if (this.closed) {
      // Only what happens after every call and room has closed, as the node stops.
      this.count('dropped');
      this.options.log.debug({ type: event.type }, 'webhook dropped: the node is stopping');
      return;
    }
    const now = Date.now();
    const posted = envelope(event, now);
    const webhook: PendingWebhook = { id: posted.id, type: posted.type, body: JSON.stringify(posted), createdAt: now, attempts: 0 };
    const queued = this.options.store.addWebhook(webhook, now, MAX_PENDING_WEBHOOKS).then(
      (added) => {
        if (added) return this.poll();
        this.count('dropped');
        this.options.log.error({ eventId: webhook.id, type: webhook.type, pending: MAX_PENDING_WEBHOOKS }, 'webhook dropped: too many waiting for delivery');
      },
      (err: Error) => {
        this.count('dropped');
        this.options.log.error({ eventId: webhook.id, type: webhook.type, reason: err.message }, 'webhook dropped: it could not be queued');
      },
    );
    this.queueing.add(queued);
    void queued.finally(() => this.queueing.delete(queued));
  }

  /** How many webhooks ended each way on this node (and attempts that failed), since it started. */
  counts(): Readonly<Record<WebhookOutcome, number>> {
    return { ...this.outcomes };
  }

  /**
   * Stops: lets queue writes land, cuts attempts in flight short and makes their webhooks
   * due at once, so another node, or this one after a restart, takes them without waiting
   * out the lease.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poller);
    await Promise.all(this.queueing);
    this.aborter.abort();
    await this.claiming;
    await Promise.all(this.inFlight);
  }

  /** Claims what is due now, as far as attempts may start; or once the claim or an attempt under way ends. */
  private poll(): void {
    if (this.closed) return;
    const room = MAX_IN_FLIGHT - this.inFlight.size;
    if (this.claiming || room <= 0) {
      this.pollAgain = true;
      return;
    }
    this.pollAgain = false;
    this.claiming = this.claim(room).finally(() => {
      this.claiming = undefined;
      if (this.pollAgain) this.poll();
    });
  }

  /** Starts an attempt for each webhook due, without waiting for any: a slow receiver holds up no other event. */
  private async claim(room: number): Promise<void> {
    const { store, log } = this.options;
    const due = await store.claimDueWebhooks(Date.now(), LEASE_MS, room).then(
      (claimed) => {
        if (this.claimsFailing) log.info('webhooks due can be read again');
        this.claimsFailing = false;
        return claimed;
      },
      (err: Error) => {
        // Once per outage, not once per poll.
        if (!this.claimsFailing) log.warn({ reason: err.message }, 'webhooks due cannot be read; trying again every poll');
        this.claimsFailing = true;
        return [];
      },
    );
    // As many as asked for: more may be due.
    if (due.length === room) this.pollAgain = true;
    for (const webhook of due) {
      const delivery = this.deliver(webhook).finally(() => {
        this.inFlight.delete(delivery);
        if (this.pollAgain) this.poll();
      });
      this.inFlight.add(delivery);
    }
  }

  private async deliver(webhook: PendingWebhook): Promise<void> {
    const { log, store } = this.options;
    const result = await this.attempt(webhook);
    const attempt = webhook.attempts + 1;
    const line = { eventId: webhook.id, type: webhook.type, attempt, ...result };
    try {
      if ('status' in result && result.status >= 200 && result.status < 300) {
        await store.removeWebhook(webhook.id);
        this.count('delivered');
        log.debug(line, 'webhook delivered');
      } else if ('status' in result && result.status >= 400 && result.status < 500 && !RETRIED_CLIENT_ERRORS.has(result.status)) {
        await store.removeWebhook(webhook.id);
        this.count('rejected');
        log.warn(line, 'webhook refused by the receiver; given up');
      } else if (this.aborter.signal.aborted) {
        // Shutting down: the attempt was cut short, not failed.
        await store.retryWebhook(webhook, Date.now());
      } else {
        await this.retryLater({ ...webhook, attempts: attempt }, 'status' in result ? result.retryAfterMs : undefined, line);
      }
    } catch (err) {
      // The webhook stays as it was claimed: due again when its lease ends.
      log.warn({ ...line, storeError: err instanceof Error ? err.message : String(err) }, 'webhook outcome not stored; it is tried again later');
    }
  }

  private async retryLater(webhook: PendingWebhook, retryAfterMs: number | undefined, line: object): Promise<void> {
    const { log, store } = this.options;
    const dueAt = nextAttemptAt(webhook, Date.now(), this.options.retries ?? WEBHOOK_RETRIES, retryAfterMs);
    if (dueAt === undefined) {
      await store.removeWebhook(webhook.id);
      this.count('expired');
      log.error(line, 'webhook given up: still not delivered when its retries ran out');
      return;
    }
    await store.retryWebhook(webhook, dueAt);
    this.count('retrying');
    log.info({ ...line, retryInMs: dueAt - Date.now() }, 'webhook not delivered; tried again later');
  }

  /** One POST; never throws. */
  private async attempt(webhook: PendingWebhook): Promise<AttemptResult> {
    const { url, secret } = this.options;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'sip-webrtc-gateway',
          'X-Gateway-Event-Id': webhook.id,
          'X-Gateway-Event-Type': webhook.type,
          [SIGNATURE_HEADER]: signatureHeader(secret, Math.floor(Date.now() / 1000), webhook.body),
        },
        body: webhook.body,
        // A redirect is not followed: a receiver that moved is configured anew.
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(ATTEMPT_TIMEOUT_MS), this.aborter.signal]),
      });
      // The answer's body is not read: the status says all, and a slow body must not hold the connection.
      await response.body?.cancel().catch(() => undefined);
      const retryAfterMs = retryAfter(response.headers.get('retry-after'));
      return { status: response.status, ...(retryAfterMs !== undefined && { retryAfterMs }) };
    } catch (err) {
      return { failure: failureReason(err) };
    }
  }

  private count(outcome: WebhookOutcome): void {
    this.outcomes[outcome]++;
  }
}

/** Retry-After in seconds (the HTTP-date form is not honoured: the backoff applies then). */
function retryAfter(header: string | null): number | undefined {
  return header !== null && /^\d{1,6}$/.test(header.trim()) ? Number(header.trim()) * 1000 : undefined;
}

/** Why a request failed, in a few words: fetch's own message is only "fetch failed". */
function failureReason(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s`;
  if (err instanceof Error && err.name === 'AbortError') return 'cut short by shutdown';
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
