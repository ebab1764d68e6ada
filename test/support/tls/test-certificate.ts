/**
 * A self-signed certificate for 127.0.0.1 made with openssl for one test file, in a
 * temporary directory that remove() deletes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface TestCertificate {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** PEM texts of the two files. */
  readonly cert: string;
  readonly key: string;
  remove(): Promise<void>;
}

/**
 * `openssl req -x509` with a fresh key for 127.0.0.1, valid for a day. subjectAltName names
 * it as an IP address (what Node checks for an IP host) and as a DNS name too: linphone 5.1's
 * mbedtls 2.28 matches the host only against DNS names ("<unsupported>" for the IP entry,
 * "CN-mismatch" without the DNS one).
 */
export async function makeTestCertificate(name = 'sip'): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'sip-tls-'));
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:127.0.0.1',
      '-keyout', keyFile, '-out', certFile,
    ]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    certFile,
    keyFile,
    cert: await readFile(certFile, 'utf8'),
    key: await readFile(keyFile, 'utf8'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
