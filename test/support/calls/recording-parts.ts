import type { CallMedia, CallSignaling } from '../../../src/calls/call.js';
import type { GatewayEnd } from '../../../src/calls/call-end.js';
import type { GatewayError } from '../../../src/errors.js';

/** A call's signaling port that records what it was asked to send, into `events` too. */
export class RecordingSignaling implements CallSignaling {
  rejected: { status: number; error: GatewayError | undefined } | undefined;
  byes: GatewayEnd[] = [];

  constructor(private readonly events: string[]) {}

  reject(status: number, error: GatewayError | undefined): void {
    this.events.push(`reject ${status}`);
    this.rejected = { status, error };
  }

  bye(end: GatewayEnd): void {
    this.events.push(`bye ${end.cause}`);
    this.byes.push(end);
  }
}

/** A call's media that records its release, into `events` too. */
export class RecordingMedia implements CallMedia {
  closedWith: string | undefined;

  constructor(private readonly events: string[]) {}

  close(reason: string): void {
    this.events.push('media closed');
    this.closedWith = reason;
  }
}
