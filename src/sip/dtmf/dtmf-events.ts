/**
 * The digits a caller keys, from whichever way the phone sends them. Some phones send
 * each press both as RFC 4733 events and as a SIP INFO; each press is reported once.
 */
import { EventEmitter } from 'node:events';
import type { DtmfDigit } from './dtmf-digit.js';

export type DtmfSource = 'rfc4733' | 'sip-info';

export interface ReceivedDigit {
  readonly digit: DtmfDigit;
  readonly source: DtmfSource;
  readonly durationMs?: number;
}

export interface DtmfReceiverOptions {
  /**
   * How far apart the two reports of one press may arrive. RFC 4733 reports a press when
   * it ends, an INFO usually when it starts, so this must outlast a long key press.
   */
  readonly duplicateWindowMs?: number;
  readonly now?: () => number;
}

interface DtmfReceiverEvents {
  digit: [ReceivedDigit];
}

interface Reported {
  readonly digit: DtmfDigit;
  readonly source: DtmfSource;
  readonly at: number;
}

export class DtmfReceiver extends EventEmitter<DtmfReceiverEvents> {
  /** Digits reported within the window that no report from the other source has matched yet. */
  private unmatched: Reported[] = [];
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: DtmfReceiverOptions = {}) {
    super();
    this.windowMs = options.duplicateWindowMs ?? 2000;
    this.now = options.now ?? (() => performance.now());
  }

  /** Emits `digit` unless this is the other source's report of a press already emitted. */
  receive(received: ReceivedDigit): void {
    const at = this.now();
    this.unmatched = this.unmatched.filter((r) => at - r.at <= this.windowMs);
    // Pairing each report with at most one from the other source keeps "1 1" as two presses.
    const twin = this.unmatched.findIndex((r) => r.digit === received.digit && r.source !== received.source);
    if (twin >= 0) {
      this.unmatched.splice(twin, 1);
      return;
    }
    this.unmatched.push({ digit: received.digit, source: received.source, at });
    this.emit('digit', received);
  }
}
