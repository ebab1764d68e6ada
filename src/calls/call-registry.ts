/**
 * Every call the gateway holds, by Call-ID, from the moment its INVITE is taken up until
 * its close() has finished: calls being set up, answered and closing alike. A call leaves
 * by itself when it closes.
 */
import type { CallEnd } from './call-end.js';
import { Call, type CallMedia, type CallObserver, type CallOptions, type CallSignaling } from './call.js';

export class CallRegistry<Signaling extends CallSignaling = CallSignaling, Media extends CallMedia = CallMedia> {
  private readonly calls = new Map<string, Call<Signaling, Media>>();

  /** `observer` hears of every call's answer and end. */
  constructor(private readonly observer?: CallObserver<Signaling, Media>) {}

  /** A new call, held from now on. A Call-ID still held by a closing call is taken over. */
  open(options: Omit<CallOptions<Signaling, Media>, 'forget' | 'observer'>): Call<Signaling, Media> {
    if (this.get(options.callId)?.isOpen) throw new RangeError(`call ${options.callId} is already in progress`);
    const call: Call<Signaling, Media> = new Call({
      ...options,
      ...(this.observer && { observer: this.observer }),
      // A closing call whose Call-ID a newer call took over must not remove that one.
      forget: () => {
        if (this.calls.get(call.callId) === call) this.calls.delete(call.callId);
      },
    });
    this.calls.set(call.callId, call);
    return call;
  }

  get(callId: string): Call<Signaling, Media> | undefined {
    return this.calls.get(callId);
  }

  has(callId: string): boolean {
    return this.calls.has(callId);
  }

  get size(): number {
    return this.calls.size;
  }

  /** Every call held now, in the order they came. */
  all(): Array<Call<Signaling, Media>> {
    return [...this.calls.values()];
  }

  /** Ends every call, those still being set up too, and waits until each has closed. */
  async closeAll(end: CallEnd): Promise<void> {
    await Promise.all([...this.calls.values()].map((call) => call.close(end)));
  }
}
