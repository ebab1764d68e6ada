/** Several call observers heard as one (the metrics and the webhooks), each in turn. */
import type { CallMedia, CallObserver, CallSignaling } from './call.js';

export function callObservers<Signaling extends CallSignaling, Media extends CallMedia>(
  ...observers: ReadonlyArray<CallObserver<Signaling, Media>>
): CallObserver<Signaling, Media> {
  return {
    ringing: (call) => observers.forEach((observer) => observer.ringing?.(call)),
    answered: (call) => observers.forEach((observer) => observer.answered(call)),
    ended: (call, summary) => observers.forEach((observer) => observer.ended(call, summary)),
  };
}
