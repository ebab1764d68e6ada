import { Redis } from 'ioredis';
import {
  type ActiveCall,
  type GatewayStore,
  type Meeting,
  type MeetingRoute,
  type MeetingRouteKind,
  type Participant,
  type SipCredential,
  TWILIO_CALLS_KEPT,
  type TwilioCallRecord,
  type TwilioCallUpdate,
} from './store.js';

/**
 * The multi-node store. Each record kind is one Redis hash keyed by its id, so creation
 * is an atomic HSETNX; a meeting's end time lives in a hash of its own so ending is
 * atomic too and never rewrites the meeting.
 */
export class RedisStore implements GatewayStore {
  private readonly keys: {
    meetings: string;
    endedMeetings: string;
    credentials: string;
    calls: string;
    participants: (meetingId: string) => string;
    routes: (kind: MeetingRouteKind) => string;
    counter: (key: string) => string;
    twilioCalls: string;
    twilioCall: (callSid: string) => string;
  };

  private constructor(
    /** Shared with components keeping their own keys beside the store's (nonce counts); closed by close(). */
    readonly redis: Redis,
    /** Every key starts with it; such components use it too. */
    readonly prefix: string,
  ) {
    this.keys = {
      meetings: `${prefix}meetings`,
      endedMeetings: `${prefix}meetings:ended`,
      credentials: `${prefix}sip-credentials`,
      calls: `${prefix}calls`,
      participants: (meetingId) => `${prefix}participants:${meetingId}`,
      routes: (kind) => `${prefix}routes:${kind}`,
      counter: (key) => `${prefix}counter:${key}`,
      twilioCalls: `${prefix}twilio-calls`,
      twilioCall: (callSid) => `${prefix}twilio-call:${callSid}`,
    };
  }

  /** Connects and waits until Redis answers; rejects (and disconnects) when it does not within timeoutMs. */
  static async connect(url: string, options: { prefix?: string; timeoutMs?: number } = {}): Promise<RedisStore> {
    const redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: options.timeoutMs ?? 5000,
      maxRetriesPerRequest: 2,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    // Connection errors surface through commands and ping(); without a listener ioredis would log them itself.
    redis.on('error', () => {});
    try {
      await redis.connect();
      await redis.ping();
    } catch (err) {
      redis.disconnect();
      throw err;
    }
    return new RedisStore(redis, options.prefix ?? 'gw:');
  }

  async createMeeting(meeting: Meeting): Promise<boolean> {
    const { endedAt: _ignored, ...record } = meeting;
    const created = (await this.redis.hsetnx(this.keys.meetings, meeting.id, JSON.stringify(record))) === 1;
    if (created && meeting.endedAt !== undefined) await this.redis.hset(this.keys.endedMeetings, meeting.id, meeting.endedAt);
    return created;
  }

  async getMeeting(id: string): Promise<Meeting | undefined> {
    const [[, json], [, endedAt]] = (await this.redis
      .multi()
      .hget(this.keys.meetings, id)
      .hget(this.keys.endedMeetings, id)
      .exec()) as [[unknown, string | null], [unknown, string | null]];
    return json === null ? undefined : withEnd(JSON.parse(json) as Meeting, endedAt);
  }

  async listMeetings(): Promise<Meeting[]> {
    const [[, all], [, ended]] = (await this.redis
      .multi()
      .hgetall(this.keys.meetings)
      .hgetall(this.keys.endedMeetings)
      .exec()) as [[unknown, Record<string, string>], [unknown, Record<string, string>]];
    return Object.entries(all).map(([id, json]) => withEnd(JSON.parse(json) as Meeting, ended[id] ?? null));
  }

  async endMeeting(id: string, endedAt: number): Promise<Meeting | undefined> {
    if (!(await this.redis.hexists(this.keys.meetings, id))) return undefined;
    await this.redis.hsetnx(this.keys.endedMeetings, id, endedAt);
    return this.getMeeting(id);
  }

  async addCredential(credential: SipCredential): Promise<boolean> {
    return (await this.redis.hsetnx(this.keys.credentials, credential.username, JSON.stringify(credential))) === 1;
  }

  async getCredential(username: string): Promise<SipCredential | undefined> {
    return parse<SipCredential>(await this.redis.hget(this.keys.credentials, username));
  }

  async listCredentials(): Promise<SipCredential[]> {
    return (await this.redis.hvals(this.keys.credentials)).map((json) => JSON.parse(json) as SipCredential);
  }

  async deleteCredential(username: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.credentials, username)) === 1;
  }

  async putCall(call: ActiveCall): Promise<void> {
    await this.redis.hset(this.keys.calls, call.callId, JSON.stringify(call));
  }

  async getCall(callId: string): Promise<ActiveCall | undefined> {
    return parse<ActiveCall>(await this.redis.hget(this.keys.calls, callId));
  }

  async listCalls(meetingId?: string): Promise<ActiveCall[]> {
    return (await this.redis.hvals(this.keys.calls))
      .map((json) => JSON.parse(json) as ActiveCall)
      .filter((call) => meetingId === undefined || call.meetingId === meetingId);
  }

  async removeCall(callId: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.calls, callId)) === 1;
  }

  async putParticipant(participant: Participant): Promise<void> {
    await this.redis.hset(this.keys.participants(participant.meetingId), participant.id, JSON.stringify(participant));
  }

  async listParticipants(meetingId: string): Promise<Participant[]> {
    return (await this.redis.hvals(this.keys.participants(meetingId))).map((json) => JSON.parse(json) as Participant);
  }

  async removeParticipant(meetingId: string, participantId: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.participants(meetingId), participantId)) === 1;
  }

  async putMeetingRoute(route: MeetingRoute, mode: 'create' | 'replace'): Promise<boolean> {
    const key = this.keys.routes(route.kind);
    if (mode === 'create') return (await this.redis.hsetnx(key, route.key, JSON.stringify(route))) === 1;
    await this.redis.hset(key, route.key, JSON.stringify(route));
    return true;
  }

  async getMeetingRoute(kind: MeetingRouteKind, key: string): Promise<MeetingRoute | undefined> {
    return parse<MeetingRoute>(await this.redis.hget(this.keys.routes(kind), key));
  }

  async listMeetingRoutes(kind: MeetingRouteKind): Promise<MeetingRoute[]> {
    return (await this.redis.hvals(this.keys.routes(kind))).map((json) => JSON.parse(json) as MeetingRoute);
  }

  async deleteMeetingRoute(kind: MeetingRouteKind, key: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.routes(kind), key)) === 1;
  }

  async incrementCounter(key: string, windowMs: number): Promise<number> {
    const redisKey = this.keys.counter(key);
    // NX: the window starts at the first increment and later ones do not extend it.
    const [[, count]] = (await this.redis.multi().incr(redisKey).pexpire(redisKey, windowMs, 'NX').exec()) as [[unknown, number], unknown];
    return count;
  }

  async getCounter(key: string): Promise<number> {
    return Number((await this.redis.get(this.keys.counter(key))) ?? 0);
  }

  /**
   * One hash per call, so webhooks that arrive at different nodes merge field by field;
   * a sorted set by first sight orders them and bounds how many are kept.
   */
  async updateTwilioCall(callSid: string, update: TwilioCallUpdate, at: number): Promise<void> {
    const key = this.keys.twilioCall(callSid);
    const fields = Object.entries({ ...update, updatedAt: at }).filter(([, value]) => value !== undefined);
    await this.redis
      .multi()
      .hset(key, Object.fromEntries(fields.map(([name, value]) => [name, String(value)])))
      .hsetnx(key, 'firstSeenAt', at)
      .zadd(this.keys.twilioCalls, 'NX', at, callSid)
      .exec();
    const dropped = await this.redis.zrange(this.keys.twilioCalls, 0, -TWILIO_CALLS_KEPT - 1);
    if (dropped.length > 0) {
      await this.redis
        .multi()
        .zrem(this.keys.twilioCalls, ...dropped)
        .del(...dropped.map((sid) => this.keys.twilioCall(sid)))
        .exec();
    }
  }

  async listTwilioCalls(limit: number): Promise<TwilioCallRecord[]> {
    const sids = await this.redis.zrevrange(this.keys.twilioCalls, 0, limit - 1);
    const pipeline = this.redis.pipeline();
    for (const sid of sids) pipeline.hgetall(this.keys.twilioCall(sid));
    const hashes = ((await pipeline.exec()) ?? []) as Array<[unknown, Record<string, string>]>;
    return hashes.flatMap(([, hash], i) => (hash && Object.keys(hash).length > 0 ? [twilioCallRecord(sids[i] ?? '', hash)] : []));
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

function parse<T>(json: string | null): T | undefined {
  return json === null ? undefined : (JSON.parse(json) as T);
}

function withEnd(meeting: Meeting, endedAt: string | null): Meeting {
  return endedAt === null ? meeting : { ...meeting, endedAt: Number(endedAt) };
}

function twilioCallRecord(callSid: string, hash: Record<string, string>): TwilioCallRecord {
  const { firstSeenAt, updatedAt, durationSeconds, ...text } = hash;
  return {
    ...text,
    callSid,
    ...(durationSeconds !== undefined ? { durationSeconds: Number(durationSeconds) } : {}),
    firstSeenAt: Number(firstSeenAt),
    updatedAt: Number(updatedAt),
  };
}
