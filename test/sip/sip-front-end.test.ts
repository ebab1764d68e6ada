import { afterEach, describe, expect, it } from 'vitest';
import { SipFrontEnd } from '../../src/sip/sip-front-end.js';
import { freeTcpPort } from '../support/free-port.js';
import { capturedLogger } from '../support/log-capture.js';
import { testConfig } from '../support/test-config.js';
import { startTimerCensus } from '../support/timer-census.js';
import { until } from '../support/until.js';

let census: ReturnType<typeof startTimerCensus> | undefined;

afterEach(() => {
  census?.stop();
  census = undefined;
});

describe('the SIP front end while drachtio-server cannot be reached', () => {
  it('retries with growing delays, reports sip down, and stops retrying once closed', async () => {
    census = startTimerCensus();
    const port = await freeTcpPort();
    const { log, lines } = capturedLogger();
    const frontEnd = await SipFrontEnd.start(testConfig({ DRACHTIO_ADDRESS: `127.0.0.1:${port}`, DRACHTIO_SECRET: 'cymru' }), log);
    expect(frontEnd.problem()).toBe('not connected to drachtio-server');
    const retries = () => lines().filter((line) => line.msg === 'reconnecting to drachtio-server').map((line) => (line.retry as { delay: number }).delay);
    await until(() => retries().length >= 3, 5000, 'three retries');
    const [first, second, third] = retries();
    expect(second).toBeGreaterThan(first!);
    expect(third).toBeGreaterThan(second!);

    await frontEnd.close();
    const after = retries().length;
    expect(census.pending().filter((where) => where.includes('drachtio-srf'))).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(retries()).toHaveLength(after);
  });
});
