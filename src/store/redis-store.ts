import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { OwnedRecords } from './owned-records.js';
import { storeFailure } from './store-unavailable.js';
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

/**
 * The multi-node store. Each record kind is one Redis hash keyed by its id, so creation
 * is an atomic HSETNX; a meeting's end time lives in a hash of its own so ending is
 * atomic too and never rewrites the meeting.
 *
 * While Redis cannot be reached every method fails at once with a StoreUnavailableError
 * (503) instead of queueing: a caller is told now rather than after the retries. Once
 * Redis is back, this node's own live calls and participants are written again and the
 * removals it could not make are made (OwnedRecords), so none is lost or left behind.
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
    webhooks: string;
    webhooksDue: string;
  };
  private readonly owned = new OwnedRecords();
  private connection: 'up' | 'lost' | 'closing' = 'up';

  private constructor(
    /** Shared with components keeping their own keys beside the store's (nonce counts); closed by close(). */
    readonly redis: Redis,
    /** Every key starts with it; such components use it too. */
    readonly prefix: string,
    private readonly log: Logger | undefined,
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
      webhooks: `${prefix}webhooks`,
      webhooksDue: `${prefix}webhooks:due`,
    };
    redis.on('close', () => {
      if (this.connection !== 'up') return;
      this.connection = 'lost';
      this.log?.warn('lost Redis; store calls fail until it is back');
    });
    // 'ready' again after a lost connection: Redis is back.
    redis.on('ready', () => {
      if (this.connection !== 'lost') return;
      this.connection = 'up';
      void this.resync();
    });
  }

  /** Connects and waits until Redis answers; rejects (and disconnects) when it does not within timeoutMs. */
  static async connect(url: string, options: { prefix?: string; timeoutMs?: number; log?: Logger } = {}): Promise<RedisStore> {
    const redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: options.timeoutMs ?? 5000,
      maxRetriesPerRequest: 2,
      enableOfflineQueue: false,
      // Back within a second of Redis returning, however long it was away.
      retryStrategy: (attempt) => Math.min(attempt * 200, 1000),
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
    return new RedisStore(redis, options.prefix ?? 'gw:', options.log);
  }

  createMeeting(meeting: Meeting): Promise<boolean> {
    return this.run(async () => {
      const { endedAt: _ignored, ...record } = meeting;
      const created = (await this.redis.hsetnx(this.keys.meetings, meeting.id, JSON.stringify(record))) === 1;
      if (created && meeting.endedAt !== undefined) await this.redis.hset(this.keys.endedMeetings, meeting.id, meeting.endedAt);
      return created;
    });
  }

  getMeeting(id: string): Promise<Meeting | undefined> {
    return this.run(async () => {
      const [[, json], [, endedAt]] = (await this.redis
        .multi()
        .hget(this.keys.meetings, id)
        .hget(this.keys.endedMeetings, id)
        .exec()) as [[unknown, string | null], [unknown, string | null]];
      return json === null ? undefined : withEnd(JSON.parse(json) as Meeting, endedAt);
    });
  }

  listMeetings(): Promise<Meeting[]> {
    return this.run(async () => {
      const [[, all], [, ended]] = (await this.redis
        .multi()
        .hgetall(this.keys.meetings)
        .hgetall(this.keys.endedMeetings)
        .exec()) as [[unknown, Record<string, string>], [unknown, Record<string, string>]];
      return Object.entries(all).map(([id, json]) => withEnd(JSON.parse(json) as Meeting, ended[id] ?? null));
    });
  }

  endMeeting(id: string, endedAt: number): Promise<Meeting | undefined> {
    return this.run(async () => {
      if (!(await this.redis.hexists(this.keys.meetings, id))) return undefined;
      await this.redis.hsetnx(this.keys.endedMeetings, id, endedAt);
      return this.getMeeting(id);
    });
  }

  addCredential(credential: SipCredential): Promise<boolean> {
    return this.run(async () => (await this.redis.hsetnx(this.keys.credentials, credential.username, JSON.stringify(credential))) === 1);
  }

  getCredential(username: string): Promise<SipCredential | undefined> {
    return this.run(async () => parse<SipCredential>(await this.redis.hget(this.keys.credentials, username)));
  }

  listCredentials(): Promise<SipCredential[]> {
    return this.run(async () => (await this.redis.hvals(this.keys.credentials)).map((json) => JSON.parse(json) as SipCredential));
  }

  deleteCredential(username: string): Promise<boolean> {
    return this.run(async () => (await this.redis.hdel(this.keys.credentials, username)) === 1);
  }

  putCall(call: ActiveCall): Promise<void> {
    return this.putOwned(this.keys.calls, call.callId, JSON.stringify(call));
  }

  getCall(callId: string): Promise<ActiveCall | undefined> {
    return this.run(async () => parse<ActiveCall>(await this.redis.hget(this.keys.calls, callId)));
  }

  listCalls(meetingId?: string): Promise<ActiveCall[]> {
    return this.run(async () => {
      return (await this.redis.hvals(this.keys.calls))
        .map((json) => JSON.parse(json) as ActiveCall)
        .filter((call) => meetingId === undefined || call.meetingId === meetingId);
    });
  }

  removeCall(callId: string): Promise<boolean> {
    return this.removeOwned(this.keys.calls, callId);
  }

  putParticipant(participant: Participant): Promise<void> {
    return this.putOwned(this.keys.participants(participant.meetingId), participant.id, JSON.stringify(participant));
  }

  listParticipants(meetingId: string): Promise<Participant[]> {
    return this.run(async () => (await this.redis.hvals(this.keys.participants(meetingId))).map((json) => JSON.parse(json) as Participant));
  }

  removeParticipant(meetingId: string, participantId: string): Promise<boolean> {
    return this.removeOwned(this.keys.participants(meetingId), participantId);
  }

  putMeetingRoute(route: MeetingRoute, mode: 'create' | 'replace'): Promise<boolean> {
    return this.run(async () => {
      const key = this.keys.routes(route.kind);
      if (mode === 'create') return (await this.redis.hsetnx(key, route.key, JSON.stringify(route))) === 1;
      await this.redis.hset(key, route.key, JSON.stringify(route));
      return true;
    });
  }

  getMeetingRoute(kind: MeetingRouteKind, key: string): Promise<MeetingRoute | undefined> {
    return this.run(async () => parse<MeetingRoute>(await this.redis.hget(this.keys.routes(kind), key)));
  }

  listMeetingRoutes(kind: MeetingRouteKind): Promise<MeetingRoute[]> {
    return this.run(async () => (await this.redis.hvals(this.keys.routes(kind))).map((json) => JSON.parse(json) as MeetingRoute));
  }

  deleteMeetingRoute(kind: MeetingRouteKind, key: string): Promise<boolean> {
    return this.run(async () => (await this.redis.hdel(this.keys.routes(kind), key)) === 1);
  }

  incrementCounter(key: string, windowMs: number): Promise<number> {
    return this.run(async () => {
      const redisKey = this.keys.counter(key);
      // NX: the window starts at the first increment and later ones do not extend it.
      const [[, count]] = (await this.redis.multi().incr(redisKey).pexpire(redisKey, windowMs, 'NX').exec()) as [[unknown, number], unknown];
      return count;
    });
  }

  getCounter(key: string): Promise<number> {
    return this.run(async () => Number((await this.redis.get(this.keys.counter(key))) ?? 0));
  }

  /**
   * One hash per call, so webhooks that arrive at different nodes merge field by field;
   * a sorted set by first sight orders them and bounds how many are kept.
   */
  updateTwilioCall(callSid: string, update: TwilioCallUpdate, at: number): Promise<void> {
    return this.run(async () => {
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
    });
  }

  listTwilioCalls(limit: number): Promise<TwilioCallRecord[]> {
    return this.run(async () => {
      const sids = await this.redis.zrevrange(this.keys.twilioCalls, 0, limit - 1);
      const pipeline = this.redis.pipeline();
      for (const sid of sids) pipeline.hgetall(this.keys.twilioCall(sid));
      const hashes = ((await pipeline.exec()) ?? []) as Array<[unknown, Record<string, string>]>;
      return hashes.flatMap(([, hash], i) => (hash && Object.keys(hash).length > 0 ? [twilioCallRecord(sids[i] ?? '', hash)] : []));
    });
  }

  /*
   * Webhooks: a hash of the pending ones by id (their JSON), and a sorted set of their ids
   * by due time. Each change is one script, so a claim (due ones leased in the one step)
   * never meets another node's claim halfway: two nodes never take the same webhook.
   */

  addWebhook(webhook: PendingWebhook, dueAt: number, maxPending: number): Promise<boolean> {
    return this.run(async () => {
      const added = await this.redis.eval(ADD_WEBHOOK_SCRIPT, 2, this.keys.webhooksDue, this.keys.webhooks, webhook.id, JSON.stringify(webhook), dueAt, maxPending);
      return added === 1;
    });
  }

  claimDueWebhooks(now: number, leaseMs: number, limit: number): Promise<PendingWebhook[]> {
    return this.run(async () => {
      const claimed = (await this.redis.eval(CLAIM_WEBHOOKS_SCRIPT, 2, this.keys.webhooksDue, this.keys.webhooks, now, now + leaseMs, limit)) as string[];
      return claimed.map((json) => JSON.parse(json) as PendingWebhook);
    });
  }

  retryWebhook(webhook: PendingWebhook, dueAt: number): Promise<void> {
    return this.run(async () => {
      await this.redis.eval(RETRY_WEBHOOK_SCRIPT, 2, this.keys.webhooksDue, this.keys.webhooks, webhook.id, JSON.stringify(webhook), dueAt);
    });
  }

  removeWebhook(id: string): Promise<void> {
    return this.run(async () => {
      await this.redis.multi().zrem(this.keys.webhooksDue, id).hdel(this.keys.webhooks, id).exec();
    });
  }

  ping(): Promise<void> {
    return this.run(async () => void (await this.redis.ping()));
  }

  /** Removals owed to Redis since it was lost; made once it is back. */
  get pendingRemovals(): number {
    return this.owned.pendingRemovals;
  }

  async close(): Promise<void> {
    this.connection = 'closing';
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private putOwned(hash: string, field: string, json: string): Promise<void> {
    this.owned.put(hash, field, json);
    return this.run(async () => void (await this.redis.hset(hash, field, json)));
  }

  private async removeOwned(hash: string, field: string): Promise<boolean> {
    this.owned.removed(hash, field);
    try {
      return await this.run(async () => (await this.redis.hdel(hash, field)) === 1);
    } catch (err) {
      this.owned.removeFailed(hash, field);
      throw err;
    }
  }

  private async resync(): Promise<void> {
    try {
      const { restored, removed } = await this.owned.replay(this.redis);
      this.log?.info({ restored, removed }, 'Redis is back: live calls and participants of this node written again, stale ones removed');
    } catch (err) {
      // Tried again at the next reconnect.
      this.log?.warn({ reason: err instanceof Error ? err.message : String(err) }, 'Redis is back but could not be resynchronised');
    }
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw storeFailure(err, this.redis);
    }
  }
}

/** KEYS: due set, hash. ARGV: id, json, due time, most pending. 1 when queued, 0 when full. */
const ADD_WEBHOOK_SCRIPT = `
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1`;

/** KEYS: due set, hash. ARGV: now, lease end, limit. The JSON of each webhook claimed; an id without a record is dropped. */
const CLAIM_WEBHOOKS_SCRIPT = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local claimed = {}
for _, id in ipairs(ids) do
  local json = redis.call('HGET', KEYS[2], id)
  if json then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    claimed[#claimed + 1] = json
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return claimed`;

/** KEYS: due set, hash. ARGV: id, json, due time. Only a webhook still pending is rescheduled (another node may have delivered it). */
const RETRY_WEBHOOK_SCRIPT = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1`;

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
