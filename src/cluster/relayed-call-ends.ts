/**
 * A node whose drain time is up while calls it proxied here are still live cannot end
 * them itself: the dialogs are this node's and the phone's, it only relays them. It says
 * so in its presence record (`endingRelays`), and every node looks each second for such
 * peers and ends its own calls that came through them (a BYE that the draining node's
 * drachtio-server, still running, relays to the phone).
 */
import type { Logger } from '../logger.js';
import type { ClusterStore } from '../store/cluster-store.js';
import { ClusterWatch } from './cluster-watch.js';

export interface RelayedCallEndsOptions {
  /** Ends this node's calls that came through any of these nodes. */
  endCallsVia(nodeIds: ReadonlySet<string>): void;
}

export class RelayedCallEnds {
  private readonly watch: ClusterWatch;

  constructor(cluster: Pick<ClusterStore, 'listNodes'>, options: RelayedCallEndsOptions, log: Logger) {
    this.watch = new ClusterWatch(
      async () => {
        const ending = new Set((await cluster.listNodes()).filter((node) => node.endingRelays === true).map((node) => node.id));
        if (ending.size > 0) options.endCallsVia(ending);
      },
      { log, failed: 'draining peers not looked up; trying again' },
    );
  }

  /** Looks now; resolves when done (never rejects). */
  check(): Promise<void> {
    return this.watch.check();
  }

  close(): Promise<void> {
    return this.watch.close();
  }
}
