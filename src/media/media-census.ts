/**
 * How many mediasoup workers, routers, transports, producers and consumers are open in
 * this process, counted through mediasoup's observer events (each object's `new…` event
 * up, its `close` down), so nothing in the media code has to report them. A leak shows
 * as a count that stays up after every call and meeting has ended; GET /api/media and
 * the soak benchmark read it.
 */
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';

export interface MediaCounts {
  readonly workers: number;
  readonly routers: number;
  readonly transports: number;
  readonly producers: number;
  readonly consumers: number;
}

type Kind = keyof MediaCounts;

/** What every mediasoup object's observer has: an event when the object closes. */
interface Closes {
  once(event: 'close', listener: () => void): unknown;
}

export class MediaCensus {
  private readonly live: Record<Kind, number> = { workers: 0, routers: 0, transports: 0, producers: 0, consumers: 0 };
  private readonly onNewWorker = (worker: types.Worker) => this.watchWorker(worker);
  private watching: types.Observer | undefined;

  /**
   * Counts every worker created from now on in this process (mediasoup's observer is
   * process-wide), and what is created on them. Objects created before are not counted.
   */
  static watch(observer: types.Observer = mediasoup.observer): MediaCensus {
    const census = new MediaCensus();
    census.watching = observer;
    observer.on('newworker', census.onNewWorker);
    return census;
  }

  counts(): MediaCounts {
    return { ...this.live };
  }

  /** Stops counting new workers; what is already watched keeps being counted down as it closes. */
  close(): void {
    this.watching?.off('newworker', this.onNewWorker);
    this.watching = undefined;
  }

  private watchWorker(worker: types.Worker): void {
    this.opened('workers', worker.observer);
    worker.observer.on('newrouter', (router: types.Router) => {
      this.opened('routers', router.observer);
      router.observer.on('newtransport', (transport: types.Transport) => {
        this.opened('transports', transport.observer);
        transport.observer.on('newproducer', (producer: types.Producer) => this.opened('producers', producer.observer));
        transport.observer.on('newconsumer', (consumer: types.Consumer) => this.opened('consumers', consumer.observer));
      });
    });
  }

  private opened(kind: Kind, observer: Closes): void {
    this.live[kind]++;
    observer.once('close', () => this.live[kind]--);
  }
}
