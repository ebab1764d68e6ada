import type { Redis } from 'ioredis';
import type { ClusterStore, MeetingLease, NodeRecord } from './cluster-store.js';
import { storeFailure } from './store-unavailable.js';

/**
 * Nodes and meeting leases in Redis, beside the RedisStore's keys (same connection and
 * prefix). A node is a key with a TTL plus its id in a set; an id whose key expired stays
 * in the set until a live node has cleaned up after it (`node-cleanup:<id>`, SET NX PX, is
 * the lock that lets one node do it). A lease is one key `meeting-owner:<id>` holding "epoch|nodeId|url", set with
 * NX and PX; renewing and releasing compare the whole value in a script first, so a node
 * never extends or ends a lease that has already passed to another.
 */
export class RedisClusterStore implements ClusterStore {
  private readonly keys: { node: (id: string) => string; nodes: string; cleanup: (id: string) => string; owner: (meetingId: string) => string; epochs: string };

  constructor(
    private readonly redis: Redis,
    options: { prefix: string },
  ) {
    const { prefix } = options;
    this.keys = {
      node: (id) => `${prefix}node:${id}`,
      nodes: `${prefix}nodes`,
      cleanup: (id) => `${prefix}node-cleanup:${id}`,
      owner: (meetingId) => `${prefix}meeting-owner:${meetingId}`,
      epochs: `${prefix}meeting-owner-epoch`,
    };
  }

  publishNode(node: NodeRecord, ttlMs: number): Promise<void> {
    return this.run(async () => {
      await this.redis.multi().set(this.keys.node(node.id), JSON.stringify(node), 'PX', ttlMs).sadd(this.keys.nodes, node.id).exec();
    });
  }

  removeNode(nodeId: string): Promise<void> {
    return this.run(async () => {
      await this.redis.multi().del(this.keys.node(nodeId)).srem(this.keys.nodes, nodeId).exec();
    });
  }

  listNodes(): Promise<NodeRecord[]> {
    return this.run(async () => {
      const ids = await this.redis.smembers(this.keys.nodes);
      if (ids.length === 0) return [];
      const records = await this.redis.mget(ids.map((id) => this.keys.node(id)));
      return records.flatMap((json) => (json === null ? [] : [JSON.parse(json) as NodeRecord]));
    });
  }

  goneNodes(): Promise<string[]> {
    return this.run(async () => {
      const ids = await this.redis.smembers(this.keys.nodes);
      if (ids.length === 0) return [];
      const records = await this.redis.mget(ids.map((id) => this.keys.node(id)));
      return ids.filter((_, i) => records[i] === null);
    });
  }

  claimCleanup(nodeId: string, cleanerId: string, ttlMs: number): Promise<boolean> {
    return this.run(async () => (await this.redis.set(this.keys.cleanup(nodeId), cleanerId, 'PX', ttlMs, 'NX')) === 'OK');
  }

  forgetNode(nodeId: string): Promise<void> {
    return this.run(async () => {
      await this.redis.multi().srem(this.keys.nodes, nodeId).del(this.keys.cleanup(nodeId)).exec();
    });
  }

  claimMeeting(meetingId: string, owner: { nodeId: string; url: string }, ttlMs: number): Promise<MeetingLease> {
    return this.run(async () => {
      const value = (await this.redis.eval(CLAIM_SCRIPT, 2, this.keys.owner(meetingId), this.keys.epochs, `${owner.nodeId}|${owner.url}`, ttlMs)) as string;
      return parseLease(meetingId, value);
    });
  }

  renewMeeting(lease: MeetingLease, ttlMs: number): Promise<boolean> {
    return this.run(async () => (await this.redis.eval(RENEW_SCRIPT, 1, this.keys.owner(lease.meetingId), leaseValue(lease), ttlMs)) === 1);
  }

  releaseMeeting(lease: MeetingLease): Promise<boolean> {
    return this.run(async () => (await this.redis.eval(RELEASE_SCRIPT, 1, this.keys.owner(lease.meetingId), leaseValue(lease))) === 1);
  }

  meetingOwner(meetingId: string): Promise<MeetingLease | undefined> {
    return this.run(async () => {
      const value = await this.redis.get(this.keys.owner(meetingId));
      return value === null ? undefined : parseLease(meetingId, value);
    });
  }

  private async run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw storeFailure(err, this.redis);
    }
  }
}

/**
 * KEYS: lease, epoch counter. ARGV: "nodeId|url", ttl ms. The lease's value after the
 * claim: the holder's when one is live, else a new one with the next epoch.
 */
const CLAIM_SCRIPT = `
local held = redis.call('GET', KEYS[1])
if held then return held end
local value = redis.call('INCR', KEYS[2]) .. '|' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'NX', 'PX', ARGV[2])
return value`;

/** KEYS: lease. ARGV: value, ttl ms. 1 when it was this lease and is extended. */
const RENEW_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/** KEYS: lease. ARGV: value. 1 when it was this lease and is gone. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

function leaseValue(lease: MeetingLease): string {
  return `${lease.epoch}|${lease.nodeId}|${lease.url}`;
}

/** Node ids hold no "|"; the URL, last, may. */
function parseLease(meetingId: string, value: string): MeetingLease {
  const [epoch = '', nodeId = '', ...url] = value.split('|');
  return { meetingId, nodeId, url: url.join('|'), epoch: Number(epoch) };
}
