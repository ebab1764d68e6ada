/**
 * Who hears what the SIP side did with each INVITE (the metrics): every one received, and
 * the final response each got. It must not throw.
 */
export type InviteOutcome = 'accepted' | 'challenged' | 'rejected';

export interface SipObserver {
  /** An INVITE that starts a call, before anything is decided about it. */
  inviteReceived(): void;
  /** The final response an INVITE got: 200 (accepted), 401 with a digest challenge, or any other refusal. */
  inviteAnswered(outcome: InviteOutcome, status: number): void;
  /** A digest response that did not authenticate, by why (a fixed set of reasons). */
  digestFailed(reason: string): void;
}
