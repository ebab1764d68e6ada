/**
 * The meeting signaling protocol, version 1: JSON text frames over one WebSocket per
 * participant at /ws/meetings/:meetingId. Shared by the server and the web page (type
 * imports only, so the page bundle carries no server code).
 *
 * Client → server: requests    { v: 1, id, method, data }
 * Server → client: responses   { v: 1, id, ok: true, data } | { v: 1, id, ok: false, error }
 *                  notifications { v: 1, notification, data }
 *
 * Order: getRouterRtpCapabilities → join → createTransport(send/recv) → connectTransport
 * → produce; for each producer announced (in join's answer or by producerAdded):
 * consume (the consumer starts paused) → resume. mute, dialOut and leave at any time after join.
 */
import type { types } from 'mediasoup';

export const PROTOCOL_VERSION = 1;

export type ParticipantKind = 'browser' | 'phone';

export interface ParticipantView {
  readonly id: string;
  readonly displayName: string;
  readonly kind: ParticipantKind;
  readonly muted: boolean;
  readonly speaking: boolean;
}

export interface ProducerView {
  readonly producerId: string;
  readonly participantId: string;
}

export interface TransportView {
  readonly transportId: string;
  readonly iceParameters: types.IceParameters;
  readonly iceCandidates: types.IceCandidate[];
  readonly dtlsParameters: types.DtlsParameters;
}

/** Each method's request data and answer data. */
export interface Methods {
  getRouterRtpCapabilities: { request: Record<string, never>; response: { rtpCapabilities: types.RtpCapabilities } };
  join: {
    request: { displayName: string; rtpCapabilities: types.RtpCapabilities };
    response: { participantId: string; meetingTitle: string; participants: ParticipantView[]; producers: ProducerView[]; canDialOut: boolean };
  };
  createTransport: { request: { direction: 'send' | 'recv' }; response: TransportView };
  connectTransport: { request: { transportId: string; dtlsParameters: types.DtlsParameters }; response: Record<string, never> };
  produce: {
    request: { transportId: string; kind: 'audio'; rtpParameters: types.RtpParameters };
    response: { producerId: string };
  };
  consume: {
    request: { transportId: string; producerId: string };
    response: {
      consumerId: string;
      producerId: string;
      participantId: string;
      kind: 'audio';
      rtpParameters: types.RtpParameters;
    };
  };
  resume: { request: { consumerId: string }; response: Record<string, never> };
  mute: { request: { muted: boolean }; response: Record<string, never> };
  /** Calls a phone or SIP address into the meeting (when PAGE_DIAL_OUT allows it); its progress comes as dialOut notifications. */
  dialOut: { request: { to: string; trunk?: string }; response: { callId: string } };
  leave: { request: Record<string, never>; response: Record<string, never> };
}

export type MethodName = keyof Methods;

export interface Request<M extends MethodName = MethodName> {
  readonly v: typeof PROTOCOL_VERSION;
  readonly id: number;
  readonly method: M;
  readonly data: Methods[M]['request'];
}

export interface ErrorBody {
  /** bad_request, not_found, conflict, busy, gone, ... (see GatewayErrorCode) */
  readonly code: string;
  readonly message: string;
}

export type Response<M extends MethodName = MethodName> =
  | { readonly v: typeof PROTOCOL_VERSION; readonly id: number; readonly ok: true; readonly data: Methods[M]['response'] }
  | { readonly v: typeof PROTOCOL_VERSION; readonly id: number | null; readonly ok: false; readonly error: ErrorBody };

/** What the server pushes without being asked. */
export interface Notifications {
  participantJoined: { participant: ParticipantView };
  participantUpdated: { participant: ParticipantView };
  participantLeft: { participantId: string };
  producerAdded: ProducerView;
  /** A consumer the server closed (its producer went away). */
  consumerClosed: { consumerId: string };
  /** The ids of everyone currently speaking, whenever that set changes. */
  speakers: { participantIds: string[] };
  /** A phone's caller pressed a key (DTMF: 0-9, *, #, A-D), once per press. */
  dtmf: { participantId: string; digit: string };
  /** A call the meeting dials out moved on: calling, ringing, answered, busy, no-answer, failed, cancelled, ended. */
  dialOut: { callId: string; to: string; state: string; sipStatus?: number; reason?: string };
  /** The meeting was ended; the socket closes right after. */
  meetingEnded: { reason: string };
  /** An operator removed this participant from the meeting; the socket closes right after (4403). */
  removed: { reason: string };
  /** This server is going away (restarting or stopping), not the meeting; the socket closes right after (1001). */
  serverClosing: { reason: string };
  /** Another node hosts the meeting: join at url (the meeting page there); the socket closes right after (4307). */
  redirect: { url: string };
}

export type NotificationName = keyof Notifications;

export interface Notification<N extends NotificationName = NotificationName> {
  readonly v: typeof PROTOCOL_VERSION;
  readonly notification: N;
  readonly data: Notifications[N];
}

/**
 * WebSocket close codes: 4000 + the HTTP status of the reason, so a page can tell
 * "no such meeting" (4404) from "meeting ended" (4410) or "meeting full" (4409).
 */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  /** Sent on to the node hosting the meeting, after a redirect notification. */
  redirect: 4307,
  badRequest: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  notFound: 4404,
  full: 4409,
  gone: 4410,
  serverError: 4500,
} as const;
