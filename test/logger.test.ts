import { describe, expect, it } from 'vitest';
import { censorSecrets } from '../src/logger.js';
import { capturedLogger } from './support/log-capture.js';

describe('logger', () => {
  it('censors a secret key at the top, one object down, and in the bindings of a child and a grandchild', () => {
    const { log, text, lines } = capturedLogger('info');
    log.child({ callId: 'c1', meetingId: 'm1', token: 'child-secret' }).info(
      { password: 'top-secret', trunk: { host: 'sip.example.com', password: 'inner-secret' }, keys: { srtpKey: 'k' } },
      'logged',
    );
    log.child({ component: 'sip' }).child({ apiToken: 'grandchild-secret' }).info('grandchild');
    expect(text()).not.toMatch(/child-secret|top-secret|inner-secret|"k"|grandchild-secret/);
    const [line] = lines();
    expect(line).toMatchObject({ callId: 'c1', token: '[redacted]', password: '[redacted]', trunk: { host: 'sip.example.com', password: '[redacted]' } });
  });

  it('censors credential headers under headers, at the top and one object down', () => {
    const { log, text } = capturedLogger('info');
    log.info({ headers: { authorization: 'Digest a', 'x-twilio-signature': 'sig', 'x-gateway-handoff': 'token.mac' }, request: { headers: { 'proxy-authorization': 'Digest b', via: 'SIP/2.0/UDP h' } } }, 'request');
    expect(text()).not.toMatch(/Digest a|Digest b|"sig"|token\.mac/);
    expect(text()).toContain('SIP/2.0/UDP h');
  });

  it('never changes the object the caller logged', () => {
    const fields = { password: 'p', inner: { secret: 's' }, headers: { authorization: 'a' } };
    const censored = censorSecrets(fields);
    expect(fields).toEqual({ password: 'p', inner: { secret: 's' }, headers: { authorization: 'a' } });
    expect(censored).toEqual({ password: '[redacted]', inner: { secret: '[redacted]' }, headers: { authorization: '[redacted]' } });
  });

  it('hands back the very object when it holds no secret', () => {
    const fields = { callId: 'c', remote: { host: 'h', port: 5060 } };
    expect(censorSecrets(fields)).toBe(fields);
  });

  it('keeps a logged error an error, with its secret property censored', () => {
    const { log, lines } = capturedLogger('info');
    const err = Object.assign(new Error('register failed'), { password: 'in-error' });
    log.warn({ err }, 'failed');
    const line = lines()[0]!;
    expect(line.err).toMatchObject({ type: 'Error', message: 'register failed', password: '[redacted]' });
    expect(String((line.err as { stack: string }).stack)).toContain('register failed');
  });
});
