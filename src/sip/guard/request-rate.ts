/**
 * SIP_MAX_REQUESTS_PER_SECOND: how many out-of-dialog requests one source may send in each
 * second; the rest are dropped. Counted in this process only (it is about this node's
 * CPU), in a map that starts afresh every second, so it never outgrows one second's sources.
 */
export class RequestRate {
  private second = -1;
  private counts = new Map<string, number>();

  constructor(private readonly perSecond: number) {}

  /** Counts one request of source at now (ms); false when it is beyond this second's allowance. */
  allow(source: string, now: number): boolean {
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.second = second;
      this.counts = new Map();
    }
    const count = (this.counts.get(source) ?? 0) + 1;
    this.counts.set(source, count);
    return count <= this.perSecond;
  }
}
