/**
 * Who is in the meeting, as the page knows it: the join answer's list kept current by the
 * participant and speakers notifications. Listeners re-render on every change.
 */
import type { ParticipantView } from '../signaling/protocol.js';

export class Roster {
  private readonly participants = new Map<string, ParticipantView>();
  private readonly listeners: Array<() => void> = [];

  constructor(readonly selfId: string) {}

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Everyone, the user first, then in order of joining. */
  list(): ParticipantView[] {
    const self = this.participants.get(this.selfId);
    const others = [...this.participants.values()].filter((participant) => participant.id !== this.selfId);
    return self ? [self, ...others] : others;
  }

  get(participantId: string): ParticipantView | undefined {
    return this.participants.get(participantId);
  }

  /** Adds or replaces participants (join answer, participantJoined, participantUpdated). */
  upsert(...participants: ParticipantView[]): void {
    for (const participant of participants) this.participants.set(participant.id, participant);
    this.changed();
  }

  remove(participantId: string): void {
    if (this.participants.delete(participantId)) this.changed();
  }

  /** The speakers notification names everyone speaking now; everyone else is not. */
  setSpeakers(participantIds: readonly string[]): void {
    const speaking = new Set(participantIds);
    for (const participant of this.participants.values()) {
      if (participant.speaking !== speaking.has(participant.id)) {
        this.participants.set(participant.id, { ...participant, speaking: speaking.has(participant.id) });
      }
    }
    this.changed();
  }

  setMuted(participantId: string, muted: boolean): void {
    const participant = this.participants.get(participantId);
    if (participant) this.upsert({ ...participant, muted });
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
