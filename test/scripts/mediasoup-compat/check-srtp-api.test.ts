/**
 * The build guard scripts/mediasoup-compat/check-srtp-api.sh, run on stand-in worker
 * trees: it must pass a worker that uses only what the libsrtp 3 layer declares and
 * fail, naming the cause, one that needs more or passes srtp_stream_remove an SSRC in
 * another byte order.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const GUARD = fileURLToPath(new URL('../../../scripts/mediasoup-compat/check-srtp-api.sh', import.meta.url));

const trees: string[] = [];
afterEach(() => {
  for (const tree of trees.splice(0)) rmSync(tree, { recursive: true, force: true });
});

/** A worker/ folder whose src/RTC/SrtpSession.cpp holds the given code. */
function workerTree(code: string): string {
  const worker = mkdtempSync(join(tmpdir(), 'check-srtp-api-'));
  trees.push(worker);
  for (const dir of ['src/RTC', 'include', 'deps']) mkdirSync(join(worker, dir), { recursive: true });
  writeFileSync(join(worker, 'src/RTC/SrtpSession.cpp'), code);
  return worker;
}

function guard(worker: string) {
  return spawnSync('bash', [GUARD, worker], { encoding: 'utf8' });
}

const USES_THE_LAYER = `
#include <srtp.h>
// srtp_update() in a comment and "srtp_stream_add()" in a string are not uses.
static const char* kLog = "srtp_stream_add() failed";
void Remove(srtp_t session, uint32_t ssrc) { srtp_stream_remove(session, htonl(ssrc)); }
bool Protect(srtp_t s, const uint8_t* in, size_t len, uint8_t* out, size_t* outLen) {
  return srtp_protect(s, in, len, out, outLen, 0) == srtp_err_status_ok && len + SRTP_MAX_TRAILER_LEN > 0;
}
const SRTP_PROTECTION_PROFILE* OpenSslOwn();
`;

describe('check-srtp-api.sh', () => {
  it('passes a worker that uses only names the layer declares (comments, strings and OpenSSL names aside)', () => {
    const result = guard(workerTree(USES_THE_LAYER));
    expect(result.status, result.stderr).toBe(0);
  });

  it('fails a worker that calls libsrtp 3 functions the layer lacks, naming them', () => {
    const result = guard(workerTree(`${USES_THE_LAYER}\nvoid Mki(srtp_policy_t p) { srtp_policy_use_mki(p, 4); srtp_update(0, p); }\n`));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('srtp_policy_use_mki srtp_update');
  });

  it('fails a worker that passes srtp_stream_remove an SSRC without htonl()', () => {
    const result = guard(workerTree('void Remove(srtp_t session, uint32_t ssrc) { srtp_stream_remove(session, ssrc); }\n'));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('without htonl()');
  });
});
