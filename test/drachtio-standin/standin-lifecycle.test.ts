/**
 * Stand-in only: start/close. close() must release every socket, connection and timer even
 * mid-call (2xx retransmissions pending, apps and TCP peers connected), and the stand-in
 * logs through the given pino logger without ever writing the secret.
 */
import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DrachtioStandin } from '../../src/drachtio-standin/drachtio-standin.js';
import { realScheduler, type Scheduler, type TimerHandle } from '../../src/drachtio-standin/timers.js';
import { encodeFrame } from '../../src/drachtio-standin/wire-codec.js';
import { capturedLogger } from '../support/log-capture.js';
import { startStandin } from '../support/sip/drachtio-target.js';
import { Replay } from '../support/sip/replay.js';
import { SipPeer } from '../support/sip/sip-peer.js';
import { WireClient } from '../support/sip/wire-client.js';

/** Counts of the socket handle kinds the stand-in uses. */
function sockets(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (['TCPServerWrap', 'TCPSocketWrap', 'UDPWrap'].includes(kind)) counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

/** The real clock, with a count of the timers the stand-in still has scheduled on it. */
class CountingScheduler implements Scheduler {
  readonly live = new Set<TimerHandle>();
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle: TimerHandle = realScheduler.setTimeout(() => {
      this.live.delete(handle);
      fn();
    }, ms);
    this.live.add(handle);
    return handle;
  }
  clearTimeout(handle: TimerHandle): void {
    this.live.delete(handle);
    realScheduler.clearTimeout(handle);
  }
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('drachtio stand-in lifecycle', () => {
  it('close() leaves no socket, connection or timer behind, even mid-call', async () => {
    await settle();
    const before = sockets();
    const clock = new CountingScheduler();
    const target = await startStandin({ timers: { scheduler: clock } });
    const replay = await Replay.start(target, '10c-200-never-acked-server-bye', { callIds: ['f8e0a63c26f8@127.0.0.1'] });
    await replay.authenticatedInvite(); // 200 sent, never ACKed: retransmission and ACK-timeout timers pending
    const tcpPeer = await SipPeer.tcp(target.sipAddress);
    expect(sockets()).not.toEqual(before);
    expect(clock.live.size).toBeGreaterThan(0);
    await target.close();
    expect(clock.live.size).toBe(0);
    await replay.close();
    await tcpPeer.close();
    await settle();
    expect(sockets()).toEqual(before);
  });

  it('after close() nothing listens any more, and close() can be called twice', async () => {
    const target = await startStandin();
    await target.close();
    await target.close();
    const refused = await new Promise<string>((resolve) => {
      const socket = createConnection({ host: target.adminAddress.host, port: target.adminAddress.port });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('binds UDP and TCP to the same ephemeral port and reports it', async () => {
    const standin = await DrachtioStandin.start({ secret: 'x', adminPort: 0, sipPort: 0 });
    try {
      expect(standin.sipAddress.port).toBeGreaterThan(0);
      expect(standin.adminAddress.port).toBeGreaterThan(0);
      const tcp = await SipPeer.tcp(standin.sipAddress);
      await tcp.close();
    } finally {
      await standin.close();
    }
  });

  it('advertises sipAdvertisedHost in the hostports and in the Contact it adds', async () => {
    const target = await startStandin({ sipAdvertisedHost: 'gw.example.test' });
    const app = await WireClient.open(target.adminAddress);
    const peer = await SipPeer.udp(target.sipAddress);
    try {
      app.send(`00000000-0000-4000-8000-000000000301|authenticate|${target.secret}|`);
      const hostport = `gw.example.test:${target.sipAddress.port}`;
      expect((await app.replyTo('00000000-0000-4000-8000-000000000301')).args.slice(1)).toEqual(['OK', `tcp/${hostport},udp/${hostport}`, 'v0.9.10-drachtio-standin', `tcp/${hostport},udp/${hostport}`]);
      app.send('00000000-0000-4000-8000-000000000302|route|invite');
      await app.replyTo('00000000-0000-4000-8000-000000000302');
      const sip = `${target.sipAddress.host}:${target.sipAddress.port}`;
      peer.send(
        [`INVITE sip:m@${sip} SIP/2.0`, `Via: SIP/2.0/UDP ${peer.hostport};branch=z9hG4bKadv;rport`, `From: <sip:a@${peer.hostport}>;tag=1`, `To: <sip:m@${sip}>`, 'Call-ID: adv', 'CSeq: 1 INVITE', `Contact: <sip:a@${peer.hostport}>`, 'Content-Length: 0', '', ''].join('\r\n'),
      );
      await app.until(() => app.messages.some((m) => m.type === 'sip'));
      const txn = app.messages.find((m) => m.type === 'sip')!.args[6]!;
      app.send(`00000000-0000-4000-8000-000000000303|sip|${txn}|\r\nSIP/2.0 200 OK\r\nCall-ID: adv\r\ncseq: 1 INVITE\r\nfrom: <sip:a@${peer.hostport}>;tag=1\r\nto: <sip:m@${sip}>\r\nContent-Length: 0\r\n\r\n`);
      const ok = await peer.next((m) => m.text.startsWith('SIP/2.0 200 OK'));
      expect(ok.text).toContain(`\r\nContact: <sip:${hostport}>\r\n`);
    } finally {
      app.close();
      await peer.close();
      await target.close();
    }
  });

  it('logs through a pino child and never writes the secret, whether apps authenticate or not', async () => {
    const { log, text, lines } = capturedLogger('trace');
    const secret = 'sup3r-s3cret-value';
    const target = await startStandin({ secret, log });
    const replay = await Replay.start(target, '02-options', { callIds: ['395712146@127.0.0.1'] });
    try {
      await replay.send('N1');
      await replay.expect('N2');
      const bad = createConnection({ host: target.adminAddress.host, port: target.adminAddress.port });
      await new Promise<void>((resolve) => bad.once('connect', resolve));
      const refused: Buffer[] = [];
      bad.on('data', (chunk: Buffer) => refused.push(chunk));
      bad.write(encodeFrame(`x|authenticate|${secret.slice(0, -1)}X|`));
      await new Promise<void>((resolve) => bad.once('close', () => resolve()));
      expect(Buffer.concat(refused).toString()).toMatch(/\|response\|x\|NO\|incorrect secret$/);
    } finally {
      await replay.close();
      await target.close();
    }
    expect(lines().some((l) => l.component === 'drachtio-standin')).toBe(true);
    expect(text()).not.toContain(secret);
    expect(text()).not.toContain(secret.slice(0, -1));
  });
});
