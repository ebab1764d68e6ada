/**
 * scripts/lib/apt.sh run against a throw-away apt state (APT_CONFIG pointing at a temporary
 * Dir::Etc, Dir::State and Dir::Cache with the machine's Debian mirror but no backports
 * source and no package lists), as on a new machine. apt-get install runs with -s
 * (simulate), so nothing is installed; apt-get update reads the real mirror.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const APT_HELPERS = fileURLToPath(new URL('../../scripts/lib/apt.sh', import.meta.url));

function isDebianBookwormAsRoot(): boolean {
  try {
    return process.getuid?.() === 0 && /^VERSION_CODENAME=bookworm$/m.test(readFileSync('/etc/os-release', 'utf8'));
  } catch {
    return false;
  }
}

const states: string[] = [];
afterEach(() => {
  for (const state of states.splice(0)) rmSync(state, { recursive: true, force: true });
});

/** A new apt state: only the bookworm main suite as a source, no lists, the machine's dpkg status. */
function throwAwayAptState(): { root: string; config: string; sourceParts: string } {
  const root = mkdtempSync(join(tmpdir(), 'apt-state-'));
  states.push(root);
  const sourceParts = join(root, 'etc/sources.list.d');
  for (const dir of [sourceParts, join(root, 'etc/apt.conf.d'), join(root, 'etc/preferences.d'), join(root, 'state/lists/partial'), join(root, 'cache/archives/partial')]) {
    mkdirSync(dir, { recursive: true });
  }
  writeFileSync(
    join(sourceParts, 'debian.sources'),
    ['Types: deb', 'URIs: http://deb.debian.org/debian', 'Suites: bookworm', 'Components: main', 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg', ''].join('\n'),
  );
  const config = join(root, 'apt.conf');
  writeFileSync(
    config,
    [
      `Dir::Etc "${join(root, 'etc')}";`,
      'Dir::Etc::sourcelist "sources.list";',
      'Dir::Etc::sourceparts "sources.list.d";',
      'Dir::Etc::parts "apt.conf.d";',
      'Dir::Etc::preferencesparts "preferences.d";',
      `Dir::State "${join(root, 'state')}";`,
      'Dir::State::status "/var/lib/dpkg/status";',
      `Dir::Cache "${join(root, 'cache')}";`,
      '',
    ].join('\n'),
  );
  return { root, config, sourceParts };
}

/** Sources apt.sh in bash under that apt state and runs the given helper calls. */
function withAptHelpers(config: string, calls: string) {
  return spawnSync('bash', ['-c', `set -euo pipefail; source "${APT_HELPERS}"; ${calls}`], {
    encoding: 'utf8',
    env: { ...process.env, APT_CONFIG: config, APT_LOG_TAG: 'apt-test' },
    timeout: 170_000,
  });
}

describe.runIf(isDebianBookwormAsRoot())('scripts/lib/apt.sh on a new apt state (Debian 12, as root)', () => {
  it('installs a backports package after an earlier apt-get update in the same run: adding the source updates again', () => {
    const state = throwAwayAptState();
    const result = withAptHelpers(state.config, 'apt_update; apt_install -s meson/bookworm-backports');
    const report = `${result.stdout}\n${result.stderr}`;
    expect(result.status, report).toBe(0);
    expect(report).not.toMatch(/Release 'bookworm-backports' for 'meson' was not found/);
    expect(readdirSync(state.sourceParts)).toContain('bookworm-backports.sources');
    expect(readdirSync(join(state.root, 'state/lists')).some((list) => list.includes('bookworm-backports'))).toBe(true);
    expect(result.stderr.match(/\[apt-test\] apt-get update/g)).toHaveLength(2);
  }, 180_000);

  it('adds the backports source once: a second package from it reads the lists already there', () => {
    const state = throwAwayAptState();
    const result = withAptHelpers(state.config, 'apt_install -s meson/bookworm-backports; apt_install -s meson/bookworm-backports');
    const report = `${result.stdout}\n${result.stderr}`;
    expect(result.status, report).toBe(0);
    expect(result.stderr.match(/\[apt-test\] apt-get update/g), report).toHaveLength(1);
    expect(result.stderr.match(/adding Debian bookworm-backports/g), report).toHaveLength(1);
  }, 180_000);
});

describe.runIf(isDebianBookwormAsRoot())('scripts/setup.sh --test packages on a new apt state (Debian 12, as root)', () => {
  it('finds every package the test setup installs, kamailio for the SIP front test among them', () => {
    const setup = readFileSync(fileURLToPath(new URL('../../scripts/setup.sh', import.meta.url)), 'utf8');
    const packages = /^\s*ensure_packages (redis-server .+)$/m.exec(setup)?.[1]?.split(' ');
    expect(packages).toContain('kamailio');
    const state = throwAwayAptState();
    // What the new lists offer, whatever this machine has installed already (setup.sh ran before the tests).
    const result = withAptHelpers(state.config, `apt_update; apt-cache policy ${packages!.join(' ')}`);
    const report = `${result.stdout}\n${result.stderr}`;
    expect(result.status, report).toBe(0);
    for (const name of packages!) {
      const candidate = new RegExp(`^${name.replace(/[.+]/g, '\\$&')}:\\n(?:  .*\\n)*?  Candidate: (\\S+)`, 'm').exec(result.stdout)?.[1];
      expect(candidate, `${name}\n${report}`).toMatch(/^\d/);
    }
  }, 180_000);
});

describe.skipIf(isDebianBookwormAsRoot())('scripts/lib/apt.sh (skipped: needs Debian 12 and root to run apt-get update)', () => {
  it.todo('installs a backports package after an earlier apt-get update in the same run');
});
