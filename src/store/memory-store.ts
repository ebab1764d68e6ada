import type { ActiveCall, GatewayStore, Meeting, Participant, SipCredential } from './store.js';

/** The embedded single-node store. Records are copied in and out so callers never share them. */
export class MemoryStore implements GatewayStore {
  private readonly meetings = new Map<string, Meeting>();
  private readonly credentials = new Map<string, SipCredential>();
  private readonly calls = new Map<string, ActiveCall>();
  private readonly participants = new Map<string, Map<string, Participant>>();

  async createMeeting(meeting: Meeting): Promise<boolean> {
    if (this.meetings.has(meeting.id)) return false;
    this.meetings.set(meeting.id, { ...meeting });
    return true;
  }

  async getMeeting(id: string): Promise<Meeting | undefined> {
    const meeting = this.meetings.get(id);
    return meeting && { ...meeting };
  }

  async listMeetings(): Promise<Meeting[]> {
    return [...this.meetings.values()].map((m) => ({ ...m }));
  }

  async endMeeting(id: string, endedAt: number): Promise<Meeting | undefined> {
    const meeting = this.meetings.get(id);
    if (!meeting) return undefined;
    const ended = { ...meeting, endedAt: meeting.endedAt ?? endedAt };
    this.meetings.set(id, ended);
    return { ...ended };
  }

  async addCredential(credential: SipCredential): Promise<boolean> {
    if (this.credentials.has(credential.username)) return false;
    this.credentials.set(credential.username, { ...credential });
    return true;
  }

  async getCredential(username: string): Promise<SipCredential | undefined> {
    const credential = this.credentials.get(username);
    return credential && { ...credential };
  }

  async listCredentials(): Promise<SipCredential[]> {
    return [...this.credentials.values()].map((c) => ({ ...c }));
  }

  async deleteCredential(username: string): Promise<boolean> {
    return this.credentials.delete(username);
  }

  async putCall(call: ActiveCall): Promise<void> {
    this.calls.set(call.callId, { ...call });
  }

  async getCall(callId: string): Promise<ActiveCall | undefined> {
    const call = this.calls.get(callId);
    return call && { ...call };
  }

  async listCalls(meetingId?: string): Promise<ActiveCall[]> {
    return [...this.calls.values()]
      .filter((c) => meetingId === undefined || c.meetingId === meetingId)
      .map((c) => ({ ...c }));
  }

  async removeCall(callId: string): Promise<boolean> {
    return this.calls.delete(callId);
  }

  async putParticipant(participant: Participant): Promise<void> {
    let inMeeting = this.participants.get(participant.meetingId);
    if (!inMeeting) {
      inMeeting = new Map();
      this.participants.set(participant.meetingId, inMeeting);
    }
    inMeeting.set(participant.id, { ...participant });
  }

  async listParticipants(meetingId: string): Promise<Participant[]> {
    return [...(this.participants.get(meetingId)?.values() ?? [])].map((p) => ({ ...p }));
  }

  async removeParticipant(meetingId: string, participantId: string): Promise<boolean> {
    const inMeeting = this.participants.get(meetingId);
    const removed = inMeeting?.delete(participantId) ?? false;
    if (inMeeting?.size === 0) this.participants.delete(meetingId);
    return removed;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
