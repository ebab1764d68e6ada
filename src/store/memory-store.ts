import {
  type ActiveCall,
  type GatewayStore,
  type Meeting,
  type MeetingRoute,
  type MeetingRouteKind,
  type Participant,
  type PendingWebhook,
  type SipCredential,
  TWILIO_CALLS_KEPT,
  type TwilioCallRecord,
  type TwilioCallUpdate,
} from './store.js';

/** Counters of callers never seen again are swept once there are this many. */
const COUNTER_SWEEP_SIZE = 10_000;

/** The embedded single-node store. Records are copied in and out so callers never share them. */
export class MemoryStore implements GatewayStore {
  private readonly meetings = new Map<string, Meeting>();
  private readonly credentials = new Map<string, SipCredential>();
  private readonly calls = new Map<string, ActiveCall>();
  private readonly participants = new Map<string, Map<string, Participant>>();
  private readonly routes = new Map<string, MeetingRoute>();
  private readonly counters = new Map<string, { count: number; expiresAt: number }>();
  /** In insertion order, so the first entry is the oldest. */
  private readonly twilioCalls = new Map<string, TwilioCallRecord>();
  private readonly webhooks = new Map<string, { webhook: PendingWebhook; dueAt: number }>();

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

  async putMeetingRoute(route: MeetingRoute, mode: 'create' | 'replace'): Promise<boolean> {
    const id = routeId(route.kind, route.key);
    if (mode === 'create' && this.routes.has(id)) return false;
    this.routes.set(id, { ...route });
    return true;
  }

  async getMeetingRoute(kind: MeetingRouteKind, key: string): Promise<MeetingRoute | undefined> {
    const route = this.routes.get(routeId(kind, key));
    return route && { ...route };
  }

  async listMeetingRoutes(kind: MeetingRouteKind): Promise<MeetingRoute[]> {
    return [...this.routes.values()].filter((r) => r.kind === kind).map((r) => ({ ...r }));
  }

  async deleteMeetingRoute(kind: MeetingRouteKind, key: string): Promise<boolean> {
    return this.routes.delete(routeId(kind, key));
  }

  async incrementCounter(key: string, windowMs: number): Promise<number> {
    const now = Date.now();
    if (this.counters.size >= COUNTER_SWEEP_SIZE) for (const stale of [...this.counters.keys()]) this.liveCounter(stale, now);
    const live = this.liveCounter(key, now);
    const counter = live ?? { count: 0, expiresAt: now + windowMs };
    counter.count++;
    this.counters.set(key, counter);
    return counter.count;
  }

  async getCounter(key: string): Promise<number> {
    return this.liveCounter(key, Date.now())?.count ?? 0;
  }

  async updateTwilioCall(callSid: string, update: TwilioCallUpdate, at: number): Promise<void> {
    const known = this.twilioCalls.get(callSid);
    this.twilioCalls.set(callSid, { ...known, ...update, callSid, firstSeenAt: known?.firstSeenAt ?? at, updatedAt: at });
    for (const oldest of this.twilioCalls.keys()) {
      if (this.twilioCalls.size <= TWILIO_CALLS_KEPT) break;
      this.twilioCalls.delete(oldest);
    }
  }

  async listTwilioCalls(limit: number): Promise<TwilioCallRecord[]> {
    return [...this.twilioCalls.values()].reverse().slice(0, limit).map((c) => ({ ...c }));
  }

  async addWebhook(webhook: PendingWebhook, dueAt: number, maxPending: number): Promise<boolean> {
    if (this.webhooks.size >= maxPending) return false;
    this.webhooks.set(webhook.id, { webhook: { ...webhook }, dueAt });
    return true;
  }

  async claimDueWebhooks(now: number, leaseMs: number, limit: number): Promise<PendingWebhook[]> {
    const due = [...this.webhooks.values()]
      .filter((entry) => entry.dueAt <= now)
      .sort((a, b) => a.dueAt - b.dueAt)
      .slice(0, limit);
    for (const entry of due) entry.dueAt = now + leaseMs;
    return due.map(({ webhook }) => ({ ...webhook }));
  }

  async retryWebhook(webhook: PendingWebhook, dueAt: number): Promise<void> {
    if (this.webhooks.has(webhook.id)) this.webhooks.set(webhook.id, { webhook: { ...webhook }, dueAt });
  }

  async removeWebhook(id: string): Promise<void> {
    this.webhooks.delete(id);
  }

  /** Expired counters are dropped when read, so the map holds only callers seen lately. */
  private liveCounter(key: string, now: number): { count: number; expiresAt: number } | undefined {
    const counter = this.counters.get(key);
    if (!counter || counter.expiresAt > now) return counter;
    this.counters.delete(key);
    return undefined;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}

function routeId(kind: MeetingRouteKind, key: string): string {
  return `${kind}:${key}`;
}
