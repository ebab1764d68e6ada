/**
 * Recording 13 (CDR events) needs a server started with <cdrs>true</cdrs>, so these run
 * against the stand-in with `cdrs: true` whatever the environment says: cdr:attempt after
 * each incoming INVITE, cdr:stop|application|call-rejected after a 401/404 echo,
 * cdr:start|application|uas after the 200 echo, cdr:stop|network|normal-release after the
 * caller's BYE. With CDRs disabled (the default) an app routing cdr:* gets none.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startStandin, type DrachtioTarget } from '../support/sip/drachtio-target.js';
import { Replay } from '../support/sip/replay.js';

describe('drachtio stand-in CDR events', () => {
  let target: DrachtioTarget | undefined;
  let replay: Replay | undefined;

  afterEach(async () => {
    await replay?.close();
    replay = undefined;
    await target?.close();
  });

  async function runBothCalls(r: Replay): Promise<void> {
    await r.authenticatedInvite();
    await r.send('N8');
    await r.app.waitFor((e) => e.kind === 'ack');
    await r.send('N9');
    await r.expect('N10');
    await r.send('N11');
    await r.expect('N12');
    await r.expect('N13');
    await r.send('N14');
  }

  it('13 with <cdrs>true</cdrs>: cdr:* messages follow the related sip/response frames, as recorded', async () => {
    target = await startStandin({ cdrs: true });
    replay = await Replay.start(target, '13-cdr-events', { callIds: ['26dae6d9ab4892d5', '72636052c170f212'] });
    await runBothCalls(replay);
    await replay.compareWire();
    await replay.app.waitFor((e) => e.kind === 'cdr' && replay!.app.events.filter((x) => x.kind === 'cdr').length === 7);
    const cdrs = replay.app.events.flatMap((e) => (e.kind === 'cdr' ? [`${e.type} ${e.args.filter((a) => !/^\d{2}:/.test(a)).join(' ')}`] : []));
    expect(cdrs).toEqual([
      'cdr:attempt network',
      'cdr:stop application call-rejected',
      'cdr:attempt network',
      'cdr:start application uas',
      'cdr:stop network normal-release',
      'cdr:attempt network',
      'cdr:stop application call-rejected',
    ]);
  });

  it('with CDRs disabled an app that routes cdr:* receives none', async () => {
    target = await startStandin();
    replay = await Replay.start(target, '13-cdr-events', { callIds: ['26dae6d9ab4892d5', '72636052c170f212'] });
    await runBothCalls(replay);
    await replay.app.waitFor((e) => e.kind === 'request' && e.method === 'INVITE' && replay!.app.events.filter((x) => x.kind === 'request').length === 3);
    await replay.peer.collect(50);
    expect(replay.recorder.frames.filter((f) => f.message.type.startsWith('cdr:'))).toEqual([]);
    expect(replay.recorder.frames.filter((f) => f.message.type === 'route').map((f) => f.message.args[0])).toContain('cdr:attempt');
  });
});
