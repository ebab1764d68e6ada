/**
 * What a room says to its members' channels (a browser's WebSocket, a phone's call), in
 * media terms. Each channel maps these to its own wire: the signaling layer to protocol
 * notifications and WebSocket close codes.
 */
export type MemberKind = 'browser' | 'phone';

/** What others see of a member. */
export interface MemberView {
  readonly id: string;
  readonly displayName: string;
  readonly kind: MemberKind;
  readonly muted: boolean;
  readonly speaking: boolean;
}

/** A producer in the room and the id of the member it belongs to. */
export interface ProducerOwnership {
  readonly producerId: string;
  readonly memberId: string;
}

/**
 * Why a room closes. `draining`: this node is being taken out of service (a rolling
 * restart) and its drain time is up; the meeting itself goes on elsewhere.
 */
export type RoomCloseReason = 'meeting-ended' | 'media-lost' | 'idle' | 'draining' | 'shutdown';

/** Why a room is done with one member: the room closes, or an operator removed the member (the room goes on). */
export type MemberEndReason = RoomCloseReason | 'removed';

/** What a room tells its members; each channel maps these to its own wire (or ignores them). */
export type RoomNotice =
  | { readonly kind: 'member-joined'; readonly member: MemberView }
  | { readonly kind: 'member-changed'; readonly member: MemberView }
  | { readonly kind: 'member-left'; readonly memberId: string }
  | { readonly kind: 'producer-opened'; readonly producer: ProducerOwnership }
  /** A consumer of this member that the room closed (its producer went away). */
  | { readonly kind: 'consumer-closed'; readonly consumerId: string }
  /** Everyone speaking now, whenever that set changes. */
  | { readonly kind: 'speakers-changed'; readonly memberIds: readonly string[] }
  /** A phone's caller pressed a key (DTMF: 0-9, *, #, A-D). */
  | { readonly kind: 'digit-pressed'; readonly memberId: string; readonly digit: string };
