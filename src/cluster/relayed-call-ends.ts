/**
 * A node whose drain time is up while calls it proxied here are still live cannot end
 * them itself: the dialogs are this node's and the phone's, it only relays them. It says
 * so in its presence record (`endingRelays`), and every node looks each second for such
 * peers and ends its own calls that came through them (a BYE that the draining node's
 * drachtio-server, still running, relays to the phone).
 */
import type { Logger } from '../logger.js';
import type { ClusterStore } from '../store/cluster-store.js';

/** How often a node looks for peers whose relayed calls are to end. */
const CHECK_MS = 1000;

export interface RelayedCallEndsOptions {
  /** Ends this node's calls that came through any of these nodes. */
  endCallsVia(nodeIds: ReadonlySet<string>): void;
}

export class RelayedCallEnds {
  private readonly timer: NodeJS.Timeout;
  private checking: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly cluster: Pick<ClusterStore, 'listNodes'>,
    private readonly options: RelayedCallEndsOptions,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => void this.check(), CHECK_MS);
    this.timer.unref();
  }

  /** Looks now; resolves when done (never rejects). */
  check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
  }

  private async checkOnce(): Promise<void> {
    try {
      const ending = new Set((await this.cluster.listNodes()).filter((node) => node.endingRelays === true).map((node) => node.id));
      if (ending.size > 0) this.options.endCallsVia(ending);
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn({ reason: (err as Error).message }, 'draining peers not looked up; trying again');
      this.failing = true;
    }
  }
}
