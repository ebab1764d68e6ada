/**
 * What happens to calls, participants and meetings, as webhook events: it hears the calls
 * (a CallObserver), the keys their callers press (a CallEventObserver), the rooms (a MembershipObserver), the meetings' end
 * and the calls and participants of a node that died (a GoneNodeObserver), and hands each
 * event to the outbox, which returns at once. Only calls that rang (authenticated and
 * admitted) are told of: the challenges and refused guesses before are not, so nobody can
 * fill the receiver, or the queue, by sending INVITEs.
 */
import type { CallMedia, CallObserver, CallSignaling, CallSummary } from '../calls/call.js';
import type { CallDigitEvent, CallEventObserver } from '../calls/call-events.js';
import type { MembershipObserver } from '../media/rooms.js';
import type { ActiveCall, Participant } from '../store/store.js';
import type { WebhookEvent } from './webhook-events.js';

/** A call as its events read it. */
export interface PublishedCall {
  readonly callId: string;
  readonly meetingId: string;
  readonly caller: string | undefined;
  readonly startedAt: number;
  readonly answeredAt: number | undefined;
  readonly media: { readonly codec: string | undefined; readonly identity: { readonly id: string } } | undefined;
}

export class WebhookPublisher
  implements CallObserver<CallSignaling, CallMedia & { readonly codec: string | undefined; readonly identity: { readonly id: string } }>, CallEventObserver, MembershipObserver
{
  constructor(private readonly outbox: { publish(event: WebhookEvent): void }) {}

  ringing(call: PublishedCall): void {
    const data = callData(call);
    if (data) this.outbox.publish({ type: 'call.ringing', data });
  }

  answered(call: PublishedCall): void {
    const data = callData(call);
    if (data && call.answeredAt !== undefined) {
      this.outbox.publish({ type: 'call.answered', data: { ...data, ...participantOf(call), answeredAt: iso(call.answeredAt) } });
    }
  }

  ended(call: PublishedCall, summary: CallSummary): void {
    const data = callData(call);
    // A call handed to its meeting's owner is that node's to report.
    if (!data || summary.end.by === 'hand-off') return;
    const endedAt = call.startedAt + summary.durationMs;
    const { answeredAt } = call;
    const codec = call.media?.codec ?? summary.quality?.codec;
    this.outbox.publish({
      type: 'call.ended',
      data: {
        ...data,
        ...participantOf(call),
        ...(answeredAt !== undefined && { answeredAt: iso(answeredAt) }),
        endedAt: iso(endedAt),
        endedBy: summary.end.by,
        reason: summary.end.reason,
        ...(summary.status !== undefined && { status: summary.status }),
        ...(summary.cause !== undefined && { cause: summary.cause }),
        durationMs: summary.durationMs,
        ...(answeredAt !== undefined && { connectedMs: Math.max(0, endedAt - answeredAt) }),
        ...(codec !== undefined && { codec }),
        ...(summary.quality && { quality: summary.quality }),
      },
    });
  }

  /**
   * The call of a node that died, found by a live node (gone-node-cleanup.ts): its record
   * knows neither the INVITE's time nor the phone's participant id, so `startedAt` and
   * `answeredAt` are both when its media started, and `endedAt` when it was found.
   */
  callLost(call: ActiveCall, endedAt: number, reason: string): void {
    const durationMs = Math.max(0, endedAt - call.startedAt);
    this.outbox.publish({
      type: 'call.ended',
      data: {
        callId: call.callId,
        meetingId: call.meetingId,
        caller: call.caller,
        startedAt: iso(call.startedAt),
        answeredAt: iso(call.startedAt),
        endedAt: iso(endedAt),
        endedBy: 'gateway',
        reason,
        durationMs,
        connectedMs: durationMs,
        codec: call.codec,
      },
    });
  }

  digitPressed(event: CallDigitEvent): void {
    this.outbox.publish({ type: 'call.dtmf', data: { ...event, pressedAt: iso(Date.now()) } });
  }

  joined(participant: Participant): void {
    this.outbox.publish({ type: 'participant.joined', data: participantData(participant) });
  }

  left(participant: Participant, reason: string): void {
    this.outbox.publish({ type: 'participant.left', data: { ...participantData(participant), leftAt: iso(Date.now()), reason } });
  }

  meetingEnded(meetingId: string, reason: string): void {
    this.outbox.publish({ type: 'meeting.ended', data: { meetingId, reason, endedAt: iso(Date.now()) } });
  }
}

/** The call's common fields; undefined for a call that never rang. */
function callData(call: PublishedCall) {
  if (call.caller === undefined) return undefined;
  return { callId: call.callId, meetingId: call.meetingId, caller: call.caller, startedAt: iso(call.startedAt) };
}

/** The phone's participant id in the meeting, once its media opened (just before the answer). */
function participantOf(call: PublishedCall): { participantId?: string } {
  return call.media ? { participantId: call.media.identity.id } : {};
}

function participantData(participant: Participant) {
  return {
    meetingId: participant.meetingId,
    participantId: participant.id,
    kind: participant.kind,
    displayName: participant.displayName,
    joinedAt: iso(participant.joinedAt),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
