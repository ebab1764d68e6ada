/**
 * The events the gateway posts to WEBHOOK_URL, each one JSON object:
 *
 *   { "id": "<uuid>", "type": "call.answered", "timestamp": "<ISO 8601>", "data": { ... } }
 *
 * `id` is the same on every attempt to deliver one event, so a receiver drops repeats by
 * it; `timestamp` is when the event happened, not when it was sent. No secret travels in
 * an event, and a caller's phone number shows only its last four digits, as in the call API.
 * A new event is one more entry in WebhookEventData.
 */
import { randomUUID } from 'node:crypto';
import type { CallQualityReport } from '../media/quality/call-quality.js';
import type { ParticipantKind } from '../store/store.js';

interface CallData {
  readonly callId: string;
  readonly meetingId: string;
  /** The caller as the meeting sees them: a phone number masked to its last four digits. */
  readonly caller: string;
  /** When the INVITE came (ISO 8601). */
  readonly startedAt: string;
}

interface PhoneParticipant {
  /** The phone's participantId in the meeting's participant.* events; absent when the call ended before its media opened. */
  readonly participantId?: string;
}

interface ParticipantData {
  readonly meetingId: string;
  readonly participantId: string;
  readonly kind: ParticipantKind;
  readonly displayName: string;
  readonly joinedAt: string;
}

export interface WebhookEventData {
  /** The caller is authenticated and admitted to a meeting that can be joined; the answer is next. */
  readonly 'call.ringing': CallData;
  /** The gateway's 200 OK went out (never for a call whose CANCEL crossed it: drachtio-server answered that one 487). */
  readonly 'call.answered': CallData & PhoneParticipant & { readonly answeredAt: string };
  /** A call that rang has ended, answered or not. */
  readonly 'call.ended': CallData & PhoneParticipant & {
    /** Absent when the call was never answered. */
    readonly answeredAt?: string;
    readonly endedAt: string;
    /** Who ended it: the caller (BYE, CANCEL), drachtio-server (an ACK never came) or the gateway. */
    readonly endedBy: 'caller' | 'drachtio' | 'gateway';
    readonly reason: string;
    /** The SIP status that refused a call never answered. */
    readonly status?: number;
    /** The Q.850 cause of the gateway's BYE. */
    readonly cause?: number;
    /** From the INVITE to the end. */
    readonly durationMs: number;
    /** From the answer to the end; absent when never answered. */
    readonly connectedMs?: number;
    readonly codec?: string;
    /** An answered call's quality (as in GET /api/calls/:callId), when its media could say. */
    readonly quality?: CallQualityReport;
  };
  /** A key the caller pressed (RFC 4733 or SIP INFO), once per press: one of 0-9, *, #, A-D. */
  readonly 'call.dtmf': { readonly callId: string; readonly meetingId: string; readonly participantId: string; readonly digit: string; readonly pressedAt: string };
  readonly 'participant.joined': ParticipantData;
  readonly 'participant.left': ParticipantData & { readonly leftAt: string; readonly reason: string };
  readonly 'meeting.ended': { readonly meetingId: string; readonly reason: string; readonly endedAt: string };
}

export type WebhookEventType = keyof WebhookEventData;

/** One event: its type and the data that type carries. */
export type WebhookEvent = { [T in WebhookEventType]: { readonly type: T; readonly data: WebhookEventData[T] } }[WebhookEventType];

/** An event as posted. */
export type WebhookEnvelope = WebhookEvent & { readonly id: string; readonly timestamp: string };

/** The event as posted, with a new id, stamped with when it happened. */
export function envelope(event: WebhookEvent, at: number): WebhookEnvelope {
  return { id: randomUUID(), type: event.type, timestamp: new Date(at).toISOString(), data: event.data } as WebhookEnvelope;
}
