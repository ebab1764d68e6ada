/**
 * The trunk list an INVITE is told from a trunk's by: a background read that started
 * before this node created or deleted a trunk, and finishes after it, must not bring the
 * list from before back.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Trunks } from '../../src/pstn/trunks.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { Trunk } from '../../src/store/store.js';
import { capturedLogger } from '../support/log-capture.js';

/** A MemoryStore whose listTrunks reads the list at once but answers only when released: a slow Redis round trip. */
class StoreWithHeldListReads extends MemoryStore {
  holding = false;
  private readonly held: Array<() => void> = [];

  override async listTrunks(): Promise<Trunk[]> {
    const trunks = await super.listTrunks();
    if (this.holding) await new Promise<void>((resolve) => this.held.push(resolve));
    return trunks;
  }

  /** Lets every held read answer with what it read, and waits for their callbacks to run. */
  async release(): Promise<void> {
    this.holding = false;
    for (const resolve of this.held.splice(0)) resolve();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const CARRIER = '192.0.2.44';
let store: StoreWithHeldListReads;
let trunks: Trunks;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  store = new StoreWithHeldListReads();
  trunks = new Trunks(store, capturedLogger().log);
});

afterEach(() => {
  vi.useRealTimers();
});

/** Past the list's 5 s: the next INVITE starts a background read and, until it answers, uses the list it has. */
function listGetsOld(): void {
  vi.setSystemTime(Date.now() + 6000);
}

describe('the trunk list cache', () => {
  it('does not bring a deleted trunk back when a read started before the delete answers after it', async () => {
    await trunks.create({ id: 'carrier', address: `sip:${CARRIER}` });
    expect((await trunks.fromSource(CARRIER))?.id).toBe('carrier');

    listGetsOld();
    store.holding = true;
    expect((await trunks.fromSource(CARRIER))?.id, 'the old list while the read is out').toBe('carrier');
    await trunks.delete('carrier');
    await store.release();

    expect(await trunks.fromSource(CARRIER), 'the deleted trunk is gone at once').toBeUndefined();
  });

  it('does not lose a created trunk when a read started before the create answers after it', async () => {
    expect(await trunks.fromSource(CARRIER)).toBeUndefined();

    listGetsOld();
    store.holding = true;
    expect(await trunks.fromSource(CARRIER)).toBeUndefined();
    await trunks.create({ id: 'carrier', address: `sip:${CARRIER}` });
    await store.release();

    expect((await trunks.fromSource(CARRIER))?.id, 'the new trunk is known at once').toBe('carrier');
  });

  it('does not hand the first INVITE after a write the read from before it', async () => {
    await trunks.create({ id: 'carrier', address: `sip:${CARRIER}` });
    expect((await trunks.fromSource(CARRIER))?.id).toBe('carrier');
    listGetsOld();
    store.holding = true;
    await trunks.fromSource(CARRIER);
    await trunks.delete('carrier');
    // The INVITE after the delete waits for a read of its own, not for the one already out.
    const after = trunks.fromSource(CARRIER);
    await store.release();
    await store.release();
    expect(await after).toBeUndefined();
  });
});

describe('a trunk reached over TLS', () => {
  it('routes a number to sips:<number>@host for a sips: trunk and keeps ;transport=tls for a sip: one, both marked TLS', async () => {
    await trunks.create({ id: 'secure', address: 'sips:sip.example.net:5062' });
    await trunks.create({ id: 'tls', address: 'sip:192.0.2.7;transport=tls' });
    await trunks.create({ id: 'plain', address: 'sip:192.0.2.8:5070;transport=tcp' });
    expect(await trunks.route('secure', '+4930123')).toMatchObject({ uri: 'sips:+4930123@sip.example.net:5062', tls: true, host: 'sip.example.net' });
    expect(await trunks.route('tls', '+4930123')).toMatchObject({ uri: 'sip:+4930123@192.0.2.7;transport=tls', tls: true });
    expect(await trunks.route('plain', '+4930123')).toMatchObject({ uri: 'sip:+4930123@192.0.2.8:5070;transport=tcp', tls: false });
  });
});
