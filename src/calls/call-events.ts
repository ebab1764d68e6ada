/**
 * What happens in a call that others may act on, as typed events an observer can forward
 * (the webhooks): for now, each key a caller presses. Observers must not hold the call:
 * they are told synchronously and whatever they do with it is their own affair.
 */
import type { Logger } from '../logger.js';

/** A key the caller pressed (RFC 4733 or SIP INFO), once per press. */
export interface CallDigitEvent {
  readonly callId: string;
  readonly meetingId: string;
  /** The caller in the meeting's roster. */
  readonly participantId: string;
  /** One of 0-9, *, #, A-D. */
  readonly digit: string;
}

export interface CallEventObserver {
  digitPressed(event: CallDigitEvent): void;
}

/** Tells every observer of each event; one that throws is logged, and the others are still told. */
export class CallEvents implements CallEventObserver {
  private readonly observers = new Set<CallEventObserver>();

  constructor(private readonly log: Logger) {}

  /** Observes from now on; the function returned stops it. */
  observe(observer: CallEventObserver): () => void {
    this.observers.add(observer);
    return () => void this.observers.delete(observer);
  }

  digitPressed(event: CallDigitEvent): void {
    for (const observer of this.observers) {
      try {
        observer.digitPressed(event);
      } catch (err) {
        this.log.error({ err, callId: event.callId, meetingId: event.meetingId }, 'a call event observer failed');
      }
    }
  }
}
