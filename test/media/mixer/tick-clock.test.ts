import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TickClock } from '../../../src/media/mixer/tick-clock.js';
import { VirtualTime } from '../../support/virtual-time.js';

describe('TickClock', () => {
  it('does not drift over an hour of virtual time with timers firing 0-7 ms late', () => {
    let seed = 7;
    const time = new VirtualTime(() => ((seed = (seed * 48271) % 2147483647) % 8));
    const clock = new TickClock(() => undefined, 20, time);
    clock.start();
    time.advance(3_600_000);
    expect(Math.abs(clock.tickCount - 3_600_000 / 20)).toBeLessThanOrEqual(1);
    expect(clock.recentLateness().reduce((a, b) => Math.max(a, b), 0)).toBeLessThan(20);
  });

  it('runs the ticks an event-loop stall made it miss at once, in order', () => {
    let timers = 0;
    const time = new VirtualTime(() => (++timers === 3 ? 50 : 0)); // the third timer fires 50 ms late
    const seen: number[] = [];
    const clock = new TickClock((tick) => seen.push(tick), 20, time);
    clock.start();
    time.advance(110);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(clock.recentLateness()).toEqual([0, 0, 50, 30, 10]);
  });

  it('runs the ticks an event-loop stall made it miss after reading the packets that came during the stall', async () => {
    const socket = createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    let received = 0;
    socket.on('message', () => received++);
    const receivedAtTick: number[] = [];
    const clock = new TickClock(() => receivedAtTick.push(received));
    try {
      clock.start();
      await sleep(30);
      const ticksBefore = receivedAtTick.length;
      // A stall of three ticks or more, in which another process sends five packets. It
      // ends in the loop's check phase, so the timers phase comes next, before the poll.
      const send = `const s = require('node:dgram').createSocket('udp4'); let n = 0;
        for (let i = 0; i < 5; i++) s.send(Buffer.of(i), ${socket.address().port}, '127.0.0.1', () => ++n === 5 && s.close());`;
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          const stallStart = performance.now();
          execFileSync(process.execPath, ['-e', send]);
          while (performance.now() - stallStart < 60);
          resolve();
        }),
      );
      await sleep(50);
      const afterStall = receivedAtTick.slice(ticksBefore);
      expect(afterStall.length).toBeGreaterThan(0);
      expect(afterStall).toEqual(afterStall.map(() => 5));
    } finally {
      clock.stop();
      socket.close();
    }
  });

  it('remembers the lateness of only its most recent ticks', () => {
    let timers = 0;
    const time = new VirtualTime(() => (++timers === 3 ? 50 : 0));
    const clock = new TickClock(() => undefined, 20, time, 3);
    clock.start();
    time.advance(110);
    expect(clock.recentLateness()).toEqual([50, 30, 10]);
  });

  it('skips ahead instead of bursting when it fell far behind', () => {
    const time = new VirtualTime(() => 1000);
    let ran = 0;
    const clock = new TickClock(() => ran++, 20, time);
    clock.start();
    time.advance(1030);
    expect(ran).toBe(1);
    expect(clock.tickCount).toBe(51);
  });

  it('ticks again from a new start after a stop', () => {
    const time = new VirtualTime();
    const clock = new TickClock(() => undefined, 20, time);
    clock.start();
    time.advance(100);
    clock.stop();
    time.advance(1000);
    clock.start();
    time.advance(60);
    expect(clock.tickCount).toBe(3);
  });

  it('stops ticking when stopped', () => {
    const time = new VirtualTime();
    const clock = new TickClock(() => undefined, 20, time);
    clock.start();
    time.advance(100);
    clock.stop();
    time.advance(100);
    expect(clock.tickCount).toBe(5);
  });
});
