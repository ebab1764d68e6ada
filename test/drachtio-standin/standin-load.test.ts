/**
 * Stand-in only (it needs a shorter T1): what a busy event loop must not change. Under load
 * the process that hosts the stand-in (the gateway) can hold the event loop past T1 while
 * the caller's ACK is already waiting on the UDP socket; Node runs due timers before it
 * reads sockets, so timer G would re-send a 401 the caller had already ACKed (RFC 3261
 * 17.2.1: the ACK moves the transaction to Confirmed and retransmission stops).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { startStandin } from '../support/sip/drachtio-target.js';
import { replaysPerTest } from '../support/sip/replay.js';
import { firstLine } from '../support/sip/sip-message.js';

/** RFC 3261's T1: far longer than the few synchronous steps between the 401 and the held loop. */
const T1_MS = 500;

/** Sends one datagram from another process and lingers, holding this process's event loop past T1 meanwhile. */
function sendWhileBlocked(text: string, port: number, holdMs: number): void {
  const script =
    "const s = require('node:dgram').createSocket('udp4');" +
    `s.send(Buffer.from(process.env.SIP_TEXT), ${port}, '127.0.0.1', (err) => { if (err) throw err; setTimeout(() => s.close(), ${holdMs}); });`;
  execFileSync(process.execPath, ['-e', script], { env: { SIP_TEXT: text }, stdio: 'ignore' });
}

describe('drachtio stand-in with its event loop held', () => {
  const replays = replaysPerTest(() => startStandin({ timers: { values: { t1: T1_MS } } }));

  it('does not re-send a 401 whose ACK was already waiting on the socket when timer G came due', async () => {
    const replay = await replays.start('03-invite-auth-answer-bye-by-caller', { callIds: ['d450ce80b8c1bbcb'] });
    await replay.send('N1');
    await replay.expect('N2');
    await replay.expect('N3');
    const challengedAt = performance.now();
    const seenBefore = replay.peer.received.length;
    sendWhileBlocked(replay.adapted('N4'), replays.target.sipAddress.port, 1.5 * T1_MS);
    expect(performance.now() - challengedAt, 'the event loop was held past T1').toBeGreaterThan(T1_MS);
    await replay.peer.collect(3 * T1_MS);
    expect(replay.peer.received.slice(seenBefore).map((m) => firstLine(m.text))).toEqual([]);
  });

  it('still re-sends a 401 when no ACK came while the loop was held', async () => {
    const replay = await replays.start('03-invite-auth-answer-bye-by-caller', { callIds: ['d450ce80b8c1bbcb'] });
    await replay.send('N1');
    await replay.expect('N2');
    await replay.expect('N3');
    sendWhileBlocked('\r\n\r\n', replays.target.sipAddress.port, 1.5 * T1_MS);
    await replay.expect('N3', 3 * T1_MS);
  });
});
