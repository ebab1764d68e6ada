/**
 * The libsrtp 3 layer the offline mediasoup worker is built with
 * (scripts/mediasoup-compat/libsrtp3): its C test, compiled here with gcc against Debian's
 * libsrtp 2 under AddressSanitizer and UndefinedBehaviorSanitizer, must pass every check.
 * gcc and libsrtp2-dev come with scripts/setup.sh --test.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const RUNNER = fileURLToPath(new URL('../../../scripts/mediasoup-compat/test/run.sh', import.meta.url));
const PROFILES = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32', 'AEAD_AES_128_GCM', 'AEAD_AES_256_GCM'];

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function runLayerTest(): Promise<RunResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)('bash', [RUNNER], { timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof failure.code === 'number' ? failure.code : -1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? String(error) };
  }
}

describe('libsrtp 3 layer over libsrtp 2', () => {
  it('passes its C test under AddressSanitizer and UBSan: RFC known answers, round trips and refusals for each SRTP profile', async () => {
    const { code, stdout, stderr } = await runLayerTest();
    const report = `${stdout}\n${stderr}`;
    expect(code, report).toBe(0);
    for (const profile of PROFILES) expect(stdout.split('\n'), report).toContain(`ok ${profile}`);
    const summary = /^(\d+) passed, (\d+) failed$/m.exec(stdout);
    expect(summary, report).not.toBeNull();
    expect(Number(summary?.[2])).toBe(0);
    expect(Number(summary?.[1])).toBeGreaterThan(500);
    expect(stderr, report).not.toMatch(/Sanitizer|runtime error/);
  }, 150_000);
});
