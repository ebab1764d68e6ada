/**
 * A dropped request's answer is held back past the sender's own transaction timeout,
 * then a 408 frees drachtio-server's transaction; a flood beyond the cap is answered at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SilentDrop } from '../../../src/sip/guard/silent-drop.js';
import type { SipResponse } from '../../../src/sip/srf.js';

function response(): SipResponse & { sent: number[] } {
  const sent: number[] = [];
  return {
    sent,
    get finalResponseSent() {
      return sent.length > 0;
    },
    send: (status: number) => void sent.push(status),
  };
}

describe('SilentDrop', () => {
  it('answers nothing until the hold is over, then 408', async () => {
    const drop = new SilentDrop(100);
    const held = response();
    drop.drop(held);
    expect(held.sent).toEqual([]);
    expect(drop.holding).toBe(1);
    await sleep(200);
    expect(held.sent).toEqual([408]);
    expect(drop.holding).toBe(0);
  });

  it('answers every held request at close', () => {
    const drop = new SilentDrop(60_000);
    const held = [response(), response()];
    for (const r of held) drop.drop(r);
    drop.close();
    expect(held.map((r) => r.sent)).toEqual([[408], [408]]);
    expect(drop.holding).toBe(0);
  });

  it('holds at most 10 000: beyond that a dropped request is answered at once', () => {
    const drop = new SilentDrop(60_000);
    const held = Array.from({ length: 10_000 }, response);
    for (const r of held) drop.drop(r);
    const beyond = response();
    drop.drop(beyond);
    expect(beyond.sent).toEqual([408]);
    expect(held.every((r) => r.sent.length === 0)).toBe(true);
    drop.close();
  });
});
