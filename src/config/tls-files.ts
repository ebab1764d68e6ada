/**
 * The certificate and private key SIP over TLS serves, read from their files and checked
 * once at start-up: readable, PEM, and the key the certificate's. The key's text never
 * leaves this object in a log line or an error.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error.js';

export class TlsKeyPair {
  private constructor(
    readonly certFile: string,
    readonly keyFile: string,
    /** PEM certificate (and any chain after it). */
    readonly cert: string,
    /** PEM private key. */
    readonly key: string,
  ) {}

  /** Reads both files; a ConfigError naming the variable for an unreadable file, a file that is not PEM, or a key that does not match. */
  static read(certKey: string, certFile: string, keyKey: string, keyFile: string): TlsKeyPair {
    const cert = readText(certKey, certFile, 'a PEM certificate');
    const key = readText(keyKey, keyFile, 'a PEM private key');
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(cert);
    } catch {
      throw new ConfigError(certKey, 'a file holding a PEM certificate (-----BEGIN CERTIFICATE-----)', certFile);
    }
    let keyObject;
    try {
      keyObject = createPrivateKey(key);
    } catch {
      throw new ConfigError(keyKey, 'a file holding an unencrypted PEM private key', keyFile);
    }
    if (!certificate.checkPrivateKey(keyObject)) {
      throw new ConfigError(keyKey, `the private key of the certificate in ${certKey} (${certFile}); this key does not match it`, keyFile);
    }
    return new TlsKeyPair(certFile, keyFile, cert, key);
  }

  /** What a log line of the configuration shows: the paths, never the key. */
  toJSON(): { certFile: string; keyFile: string } {
    return { certFile: this.certFile, keyFile: this.keyFile };
  }
}

/** CA certificates (PEM, one or more) that TLS peers' certificates must chain to, read and checked once at start-up. */
export class TrustedCas {
  private constructor(
    readonly file: string,
    readonly pem: string,
  ) {}

  /** A ConfigError naming the variable for an unreadable file or one without a PEM certificate. */
  static read(key: string, file: string): TrustedCas {
    const pem = readText(key, file, 'PEM CA certificates');
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    try {
      if (blocks.length === 0) throw new Error('no certificate');
      for (const block of blocks) new X509Certificate(block);
    } catch {
      throw new ConfigError(key, 'a file holding PEM CA certificates (-----BEGIN CERTIFICATE-----)', file);
    }
    return new TrustedCas(file, pem);
  }

  /** What a log line of the configuration shows: the path. */
  toJSON(): { file: string } {
    return { file: this.file };
  }
}

function readText(key: string, path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(key, `a readable file holding ${what} (reading it failed: ${code})`, path);
  }
}
