import { MemoryStore } from '../../src/store/memory-store.js';
import type { Meeting } from '../../src/store/store.js';

/**
 * A MemoryStore whose meeting reads fail, while `failing` is set, the way ioredis fails
 * once Redis is gone; everything else works. Redis itself cannot fail this selectively:
 * a stopped server fails the call's first write before any meeting is read.
 */
export class StoreLosingMeetings extends MemoryStore {
  failing = false;

  override async getMeeting(id: string): Promise<Meeting | undefined> {
    if (this.failing) throw new Error('Connection is closed.');
    return super.getMeeting(id);
  }
}
