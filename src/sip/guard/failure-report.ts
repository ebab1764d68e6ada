/**
 * Failed authentications logged in aggregate: one line per source per window with its
 * count, not one per guess, so an attack cannot fill the disk through our log. A source's
 * first failure of a window is logged at once (info), the rest at the window's end.
 */
import type { Logger } from '../../logger.js';

interface SourceTally {
  failures: number;
  readonly usernames: Set<string>;
}

/** Distinct usernames named per source and window, at most: enough to tell a spray from a typo. */
const MAX_USERNAMES_COUNTED = 100;
/** Sources tallied per window, at most; failures from further sources are summed in one line. */
const MAX_SOURCES = 10_000;

export class FailureReport {
  private tallies = new Map<string, SourceTally>();
  /** Failures of sources beyond MAX_SOURCES this window (an attack from very many addresses). */
  private untallied = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly windowMs: number,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => this.flush(), windowMs);
    this.timer.unref();
  }

  /** One failed authentication from source; the username is counted, never logged (it may be a mistyped password). */
  note(source: string, username: string): void {
    const tally = this.tallies.get(source);
    if (!tally && this.tallies.size >= MAX_SOURCES) {
      this.untallied++;
      return;
    }
    if (!tally) {
      this.tallies.set(source, { failures: 1, usernames: new Set([username]) });
      this.log.info({ source }, 'SIP authentication failed; further failures from this source are counted for the window');
      return;
    }
    tally.failures++;
    if (tally.usernames.size < MAX_USERNAMES_COUNTED) tally.usernames.add(username);
  }

  /** Logs each source's count of the window that ends, and starts the next one. */
  flush(): void {
    const ended = this.tallies;
    const untallied = this.untallied;
    this.tallies = new Map();
    this.untallied = 0;
    const windowSeconds = this.windowMs / 1000;
    if (untallied > 0) this.log.info({ sources: `more than ${MAX_SOURCES}`, failures: untallied, windowSeconds }, 'SIP authentication failures from further sources');
    for (const [source, tally] of ended) {
      if (tally.failures > 1) this.log.info({ source, failures: tally.failures, usernames: tally.usernames.size, windowSeconds }, 'SIP authentication failures');
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
