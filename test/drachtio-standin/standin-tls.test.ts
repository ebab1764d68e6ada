/**
 * The stand-in's TLS listener on its own (SIP over TLS end to end, through the gateway and
 * against drachtio-server too, is test/sip/sip-tls.test.ts): what apps are told, and a
 * start that cannot listen.
 */
import { type AddressInfo, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DrachtioStandin } from '../../src/drachtio-standin/drachtio-standin.js';
import { WireClient } from '../support/sip/wire-client.js';
import { type TestCertificate, makeTestCertificate } from '../support/tls/test-certificate.js';

let certificate: TestCertificate;

beforeAll(async () => {
  certificate = await makeTestCertificate();
}, 30_000);

afterAll(async () => {
  await certificate?.remove();
});

describe('the stand-in with TLS', () => {
  it('listens on a port of its own and tells apps its tls/ hostport first, as drachtio-server does', async () => {
    const standin = await DrachtioStandin.start({ secret: 'cymru', adminPort: 0, sipPort: 0, sipTls: { port: 0, cert: certificate.cert, key: certificate.key } });
    try {
      const tls = standin.sipTlsAddress!;
      expect(tls.port).not.toBe(standin.sipAddress.port);
      const app = await WireClient.authenticated(standin.adminAddress, 'cymru');
      try {
        const sip = `127.0.0.1:${standin.sipAddress.port}`;
        expect(app.messages[0]?.args).toContain(`tls/127.0.0.1:${tls.port},tcp/${sip},udp/${sip}`);
      } finally {
        app.close();
      }
    } finally {
      await standin.close();
    }
  });

  it('fails to start when its TLS port is taken', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as AddressInfo).port;
    try {
      await expect(
        DrachtioStandin.start({ secret: 'cymru', adminPort: 0, sipPort: 0, sipTls: { port: taken, cert: certificate.cert, key: certificate.key } }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});
