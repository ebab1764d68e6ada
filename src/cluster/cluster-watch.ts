/**
 * A look at the cluster's state in Redis every second, one at a time: a look that fails
 * (Redis out of reach) is said once, and tried again at the next tick until it works.
 */
import type { Logger } from '../logger.js';

/** How often a node looks. */
const CHECK_MS = 1000;

export interface ClusterWatchLog {
  readonly log: Logger;
  /** Logged (warn) at the first failed look of a run of them. */
  readonly failed: string;
  /** Logged (info) at the first look that works again, if any. */
  readonly recovered?: string;
}

export class ClusterWatch {
  private readonly timer: NodeJS.Timeout;
  private looking: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly look: () => Promise<void>,
    private readonly say: ClusterWatchLog,
  ) {
    this.timer = setInterval(() => void this.check(), CHECK_MS);
    this.timer.unref();
  }

  /** Looks now (or joins the look under way); resolves when done, never rejects. */
  check(): Promise<void> {
    this.looking ??= this.lookOnce().finally(() => {
      this.looking = undefined;
    });
    return this.looking;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.looking;
  }

  private async lookOnce(): Promise<void> {
    try {
      await this.look();
      if (this.failing && this.say.recovered) this.say.log.info(this.say.recovered);
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.say.log.warn({ reason: (err as Error).message }, this.say.failed);
      this.failing = true;
    }
  }
}
