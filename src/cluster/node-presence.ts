/**
 * This node's record in the cluster store (id, SIP URI, public URL, state, load),
 * published at start and refreshed every second with a 5 s TTL, so peers see a node that
 * died vanish within seconds. Taken down when the node closes.
 */
import type { Logger } from '../logger.js';
import type { ClusterStore, NodeState } from '../store/cluster-store.js';
import { withTimeout } from '../timeout.js';

const NODE_RECORD_TTL_MS = 5000;
const REFRESH_MS = 1000;
const STOP_TIMEOUT_MS = 1000;

export interface NodePresenceOptions {
  readonly nodeId: string;
  readonly publicUrl: string;
  sipUri(): string;
  state(): NodeState;
  /** Whether the nodes holding the calls this node relays are to end them (its drain time is up). */
  endingRelays(): boolean;
  /** Participants in this node's rooms. */
  load(): number;
}

export class NodePresence {
  private timer: NodeJS.Timeout | undefined;
  /** A refresh that failed is logged once, not every second until Redis is back. */
  private failing = false;

  constructor(
    private readonly cluster: ClusterStore,
    private readonly options: NodePresenceOptions,
    private readonly log: Logger,
  ) {}

  /** Publishes the record now, not at the next refresh (a change peers act on); a failure waits for the next refresh. */
  publishNow(): void {
    this.publish().catch(() => undefined);
  }

  /** Publishes the record now (rejecting when the store refuses) and keeps it fresh. */
  async start(): Promise<void> {
    await this.publish();
    this.timer = setInterval(() => {
      this.publish().then(
        () => {
          if (this.failing) this.log.info({ nodeId: this.options.nodeId }, 'node record published again');
          this.failing = false;
        },
        (err: Error) => {
          if (!this.failing) this.log.warn({ nodeId: this.options.nodeId, reason: err.message }, 'node record not refreshed; peers lose sight of this node once it expires');
          this.failing = true;
        },
      );
    }, REFRESH_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    // Bounded: a stalled Redis must not hold the node's shutdown (the record expires anyway).
    await withTimeout(this.cluster.removeNode(this.options.nodeId), STOP_TIMEOUT_MS, 'removing the node record').catch((err: Error) => {
      this.log.warn({ nodeId: this.options.nodeId, reason: err.message }, 'node record not removed; it expires on its own');
    });
  }

  private publish(): Promise<void> {
    const { nodeId, publicUrl } = this.options;
    return this.cluster.publishNode(
      {
        id: nodeId,
        sipUri: this.options.sipUri(),
        publicUrl,
        state: this.options.state(),
        load: this.options.load(),
        ...(this.options.endingRelays() && { endingRelays: true }),
        publishedAt: Date.now(),
      },
      NODE_RECORD_TTL_MS,
    );
  }
}
