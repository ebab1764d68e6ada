import { existsSync, readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, readDefaults } from '../../src/config/config.js';
import { healthRoutes } from '../../src/http/health-routes.js';

interface Service {
  profiles?: string[];
  depends_on?: string[];
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  working_dir?: string;
}

// merge: the cluster's nodes share their environment through a YAML merge key (<<), as compose reads it.
const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const defaults = readDefaults();
const gateway = compose.services.gateway!;
const drachtio = compose.services.drachtio!;

/** Substitutes ${VAR:-default} and ${VAR:?message} as docker compose would with VAR unset (":?" gets a stand-in). */
function interpolate(value: string): string {
  return value.replace(/\$\{(\w+)(?::-([^}]*)|:\?[^}]*)?\}/g, (_m, name: string, fallback?: string) =>
    fallback ?? (name === 'API_TOKEN' ? 'x'.repeat(24) : ''),
  );
}

/** "a-b:c-d/udp" or "a:c/tcp" → the published host ports and protocol. */
function published(port: string): { from: number; to: number; containerFrom: number; containerTo: number; protocol: string } {
  const m = /^(\d+)(?:-(\d+))?:(\d+)(?:-(\d+))?(?:\/(udp|tcp))?$/.exec(port);
  if (!m) throw new Error(`cannot read port mapping ${port}`);
  return {
    from: Number(m[1]),
    to: Number(m[2] ?? m[1]),
    containerFrom: Number(m[3]),
    containerTo: Number(m[4] ?? m[3]),
    protocol: m[5] ?? 'tcp',
  };
}

const environmentOf = (service: Service) => Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));
const gatewayEnv = environmentOf(gateway);

describe('docker-compose.yml', () => {
  it('parses and runs drachtio-server, redis and the gateway', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['drachtio', 'drachtio-a', 'drachtio-b', 'gateway', 'gateway-a', 'gateway-b', 'kamailio', 'redis']);
    for (const name of ['drachtio', 'gateway', 'redis']) expect(compose.services[name]!.profiles, name).toBeUndefined();
    expect(drachtio.image).toMatch(/^drachtio\/drachtio-server:/);
    expect(compose.services.redis?.image).toMatch(/^redis:/);
  });

  it('builds the gateway from the Dockerfile and runs its image as built: no source mounted, no command of its own', () => {
    expect(gateway.build).toEqual({ context: '.', dockerfile: 'config/Dockerfile' });
    expect(gateway.volumes).toBeUndefined();
    expect(gateway.command).toBeUndefined();
    expect(gateway.working_dir).toBeUndefined();
  });

  it('sets only configuration keys the gateway knows, each with a value it accepts', () => {
    const known = Object.keys(defaults);
    for (const key of Object.keys(gatewayEnv)) expect(known).toContain(key);
    const config = loadConfig(gatewayEnv, defaults);
    expect(config.drachtioAddress).toEqual({ host: 'drachtio', port: 9022 });
    expect(config.redisUrl).toBe('redis://redis:6379');
  });

  it('points the gateway at drachtio-server with the same admin port and secret', () => {
    const command = drachtio.command ?? [];
    const arg = (flag: string) => interpolate(command[command.indexOf(flag) + 1] ?? '');
    expect(arg('--port')).toBe('9022');
    expect(arg('--secret')).toBe(gatewayEnv.DRACHTIO_SECRET);
  });

  it('publishes the SIP port on drachtio-server for UDP and TCP, matching SIP_PORT', () => {
    const sipPort = Number(gatewayEnv.SIP_PORT ?? defaults.SIP_PORT);
    expect(sipPort).toBe(defaults.SIP_PORT);
    const ports = (drachtio.ports ?? []).map(published);
    for (const protocol of ['udp', 'tcp']) {
      expect(ports).toContainEqual({ from: sipPort, to: sipPort, containerFrom: sipPort, containerTo: sipPort, protocol });
    }
    expect(drachtio.command?.join(' ')).toContain(`sip:*:${sipPort};transport=udp,tcp`);
  });

  it('publishes exactly the configured RTP range over UDP and the HTTP port', () => {
    const config = loadConfig(gatewayEnv, defaults);
    expect([config.rtpMinPort, config.rtpMaxPort]).toEqual([defaults.RTP_MIN_PORT, defaults.RTP_MAX_PORT]);
    const ports = (gateway.ports ?? []).map(published);
    expect(ports).toContainEqual({
      from: config.rtpMinPort,
      to: config.rtpMaxPort,
      containerFrom: config.rtpMinPort,
      containerTo: config.rtpMaxPort,
      protocol: 'udp',
    });
    expect(ports).toContainEqual({ from: config.httpPort, to: config.httpPort, containerFrom: config.httpPort, containerTo: config.httpPort, protocol: 'tcp' });
  });
});

const readRepoFile = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('docker-compose.yml, cluster profile: two nodes behind Kamailio', () => {
  const NODES = ['gateway-a', 'gateway-b'] as const;
  const kamailio = compose.services.kamailio!;
  const kamailioCommand = (kamailio.command ?? []).map(interpolate);
  /** The values given with -A NAME=value on Kamailio's command line. */
  const kamailioDefines = Object.fromEntries(
    kamailioCommand.flatMap((arg, i) => (kamailioCommand[i - 1] === '-A' ? [[arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]] : [])),
  );
  const kamailioAddress = (kamailio.networks as Record<string, { ipv4_address?: string }>).cluster?.ipv4_address;
  const mountTarget = (source: string) => kamailio.volumes?.find((volume) => volume.startsWith(`${source}:`))?.split(':')[1];
  const nodeDrachtio = (node: string) => {
    const { drachtioAddress } = loadConfig(environmentOf(compose.services[node]!), defaults);
    return { name: drachtioAddress!.host, port: drachtioAddress!.port, service: compose.services[drachtioAddress!.host]! };
  };

  it('adds the front, two nodes and their drachtio-servers in the cluster profile only', () => {
    for (const name of ['kamailio', 'drachtio-a', 'drachtio-b', ...NODES]) expect(compose.services[name]!.profiles, name).toEqual(['cluster']);
    expect(kamailio.build).toEqual({ context: 'config/kamailio' });
    expect(existsSync(new URL('../../config/kamailio/Dockerfile', import.meta.url))).toBe(true);
  });

  it('runs each node from the gateway image as built, with keys it accepts, on the shared Redis and a drachtio-server of its own', () => {
    const drachtios = new Set<string>();
    for (const name of NODES) {
      const node = compose.services[name]!;
      expect(node.build, name).toEqual(gateway.build);
      expect(node.image, name).toBe(gateway.image);
      expect(node.volumes, name).toBeUndefined();
      expect(node.command, name).toBeUndefined();
      const env = environmentOf(node);
      for (const key of Object.keys(env)) expect(Object.keys(defaults), `${name} ${key}`).toContain(key);
      const config = loadConfig(env, defaults);
      expect(config.redisUrl).toBe(gatewayEnv.REDIS_URL);
      const drachtio = nodeDrachtio(name);
      drachtios.add(drachtio.name);
      expect(drachtio.service.image).toBe(compose.services.drachtio!.image);
      const command = drachtio.service.command ?? [];
      const arg = (flag: string) => interpolate(command[command.indexOf(flag) + 1] ?? '');
      expect(Number(arg('--port'))).toBe(drachtio.port);
      expect(arg('--secret')).toBe(env.DRACHTIO_SECRET);
      expect(node.depends_on).toEqual(expect.arrayContaining([drachtio.name, 'redis']));
      // Every call comes through the front: the guard judges its callers, not the front's address.
      expect(config.sipGuard.frontSources).toEqual([{ address: kamailioAddress, prefix: 32, family: 'ipv4' }]);
    }
    expect(drachtios.size).toBe(NODES.length);
    const [a, b] = NODES.map((name) => compose.services[name]!.environment!);
    expect(a!.SIP_NONCE_SECRET).toBe(b!.SIP_NONCE_SECRET);
  });

  it('publishes each node\'s HTTP port at its PUBLIC_URL and its RTP range, apart from each other and from the single node', () => {
    const single = loadConfig(gatewayEnv, defaults);
    const ranges: Array<[number, number]> = [[single.rtpMinPort, single.rtpMaxPort]];
    const httpPorts = [single.httpPort];
    for (const name of NODES) {
      const config = loadConfig(environmentOf(compose.services[name]!), defaults);
      const ports = (compose.services[name]!.ports ?? []).map(published);
      expect(ports).toContainEqual({ from: config.rtpMinPort, to: config.rtpMaxPort, containerFrom: config.rtpMinPort, containerTo: config.rtpMaxPort, protocol: 'udp' });
      const http = ports.find((port) => port.protocol === 'tcp' && port.containerFrom === config.httpPort)!;
      expect(Number(new URL(config.publicUrl).port)).toBe(http.from);
      for (const [min, max] of ranges) expect(config.rtpMaxPort < min || config.rtpMinPort > max, name).toBe(true);
      expect(httpPorts).not.toContain(http.from);
      ranges.push([config.rtpMinPort, config.rtpMaxPort]);
      httpPorts.push(http.from);
    }
  });

  it('gives Kamailio config/kamailio/ and a dispatcher list of exactly the nodes\' drachtio-servers on SIP_PORT, and publishes the port it listens on', () => {
    const cfg = readRepoFile('config/kamailio/kamailio.cfg');
    expect(kamailioCommand[kamailioCommand.indexOf('-f') + 1]).toBe(mountTarget('./config/kamailio/kamailio.cfg'));
    expect(cfg).toContain(`#!define DISPATCHER_LIST "${mountTarget('./config/kamailio/dispatcher.list')}"`);
    const destinations = readRepoFile('config/kamailio/dispatcher.list')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    const expected = NODES.map((name) => {
      const sipPort = loadConfig(environmentOf(compose.services[name]!), defaults).sipPort;
      expect(nodeDrachtio(name).service.command?.join(' ')).toContain(`sip:*:${sipPort};transport=udp,tcp`);
      return `1 sip:${nodeDrachtio(name).name}:${sipPort}`;
    });
    expect(destinations.sort()).toEqual(expected.sort());
    for (const protocol of ['udp', 'tcp']) {
      const listen = /^(udp|tcp):0\.0\.0\.0:(\d+) advertise ([\d.]+):(\d+)$/.exec(kamailioDefines[`SIP_LISTEN_${protocol.toUpperCase()}`] ?? '');
      expect(listen, protocol).not.toBeNull();
      const port = (kamailio.ports ?? []).map(published).find((p) => p.protocol === protocol && p.containerFrom === Number(listen![2]));
      expect(port?.from, protocol).toBe(Number(listen![4]));
    }
  });

  it('configures Kamailio as the README says: round-robin, OPTIONS probing of every node, failover on 503 or timeout, record-routing', () => {
    const cfg = readRepoFile('config/kamailio/kamailio.cfg');
    expect(cfg).toMatch(/ds_select_dst\("1", "4"\)/);
    expect(cfg).toContain('modparam("dispatcher", "ds_ping_method", "OPTIONS")');
    expect(cfg).toContain('modparam("dispatcher", "ds_probing_mode", 1)');
    expect(cfg).toContain('modparam("dispatcher", "ds_ping_interval", PROBE_INTERVAL)');
    expect(cfg).toMatch(/failure_route\[FAILOVER\][\s\S]*t_check_status\("503"\)[\s\S]*ds_next_dst\(\)/);
    expect(cfg).toContain('record_route();');
  });
});

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** The Dockerfile's stages and their instructions (continuation lines joined, comments dropped). */
function dockerfileStages(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m || line.trimStart().startsWith('#')) continue;
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!.replace(/\s+/g, ' ').trim();
    if (keyword === 'FROM') {
      const from = /^(\S+)(?: AS (\S+))?$/i.exec(args);
      if (!from) throw new Error(`cannot read FROM ${args}`);
      stages.push({ from: from[1]!, name: from[2], instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${keyword} before FROM`);
      stage.instructions.push({ keyword, args });
    }
  }
  return stages;
}

const stages = dockerfileStages(readRepoFile('config/Dockerfile'));
const runtime = stages.at(-1)!;
const build = stages[0]!;
const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
const one = (stage: Stage, keyword: string) => {
  const found = all(stage, keyword);
  expect(found, keyword).toHaveLength(1);
  return found[0]!;
};
/** ENV "A=1 B=2" → { A: '1', B: '2' }. */
const envOf = (stage: Stage) =>
  Object.fromEntries(all(stage, 'ENV').flatMap((args) => [...args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])));
const packageJson = JSON.parse(readRepoFile('package.json')) as {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('Dockerfile', () => {
  it('builds in a full Node.js image: the offline worker build, npm ci, npm run build', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build.from).toMatch(/^node:22-bookworm$/);
    const runs = all(build, 'RUN').join('\n');
    expect(runs).toContain('bash scripts/mediasoup-worker.sh');
    expect(runs).toContain('npm ci');
    expect(runs).toContain('npm run build');
  });

  it('runs on node:22-bookworm-slim with what npm start runs, as a non-root user', () => {
    expect(runtime.from).toBe('node:22-bookworm-slim');
    expect(JSON.parse(one(runtime, 'CMD'))).toEqual(packageJson.scripts.start!.split(' '));
    const user = one(runtime, 'USER');
    expect(['root', '0', '0:0']).not.toContain(user);
    // USER comes before CMD and HEALTHCHECK, so both run as that user.
    const keywords = runtime.instructions.map((i) => i.keyword);
    expect(keywords.indexOf('USER')).toBeLessThan(keywords.indexOf('CMD'));
    expect(keywords.indexOf('USER')).toBeLessThan(keywords.indexOf('HEALTHCHECK'));
  });

  it('copies into the runtime image only dist/, package.json, pruned production dependencies and the worker', () => {
    const copies = all(runtime, 'COPY');
    for (const copy of copies) expect(copy, 'everything comes from the build stage').toMatch(new RegExp(`^--from=${build.name} `));
    const sources = copies.map((copy) => copy.split(' ')[1]!);
    expect(sources.sort()).toEqual(['/build/dist/', '/build/node_modules/', '/build/package.json', '/opt/mediasoup-worker/']);
    // The node_modules it copies lost the devDependencies after the last install in the build stage.
    const runs = all(build, 'RUN');
    const lastInstall = runs.findLastIndex((run) => /npm (ci|install)\b/.test(run));
    const prune = runs.findLastIndex((run) => run.includes('npm prune --omit=dev'));
    expect(prune).toBeGreaterThan(-1);
    expect(prune).toBeGreaterThanOrEqual(lastInstall);
  });

  it('leaves the build tools to the build stage: they are devDependencies, which the prune removes', () => {
    for (const tool of ['esbuild', 'typescript', 'tsx']) {
      expect(Object.keys(packageJson.devDependencies)).toContain(tool);
      expect(Object.keys(packageJson.dependencies)).not.toContain(tool);
    }
  });

  it('installs no build tools and no npm packages in the runtime image, only the worker\'s shared libraries', () => {
    const runs = all(runtime, 'RUN').join('\n');
    expect(runs).not.toMatch(/\bnpm\b|\bnpx\b|build-essential|\bgcc\b|\bg\+\+|\bmake\b|meson|ninja|python|pkg-config|-dev\b/);
    const installed = [...runs.matchAll(/apt-get install ([^&]+)/g)].flatMap((m) => m[1]!.split(' ').filter((word) => word && !word.startsWith('-')));
    const script = readRepoFile('scripts/mediasoup-worker.sh');
    const runtimePackages = /^RUNTIME_PKGS=\(([^)]*)\)/m.exec(script)?.[1]?.split(/\s+/).filter(Boolean);
    expect(runtimePackages?.length).toBeGreaterThan(0);
    expect(installed.sort()).toEqual(runtimePackages!.sort());
  });

  it('points mediasoup at the worker it copied from the build stage, with its version record beside it', () => {
    const workerBin = envOf(runtime).MEDIASOUP_WORKER_BIN;
    expect(workerBin).toBe(envOf(build).MEDIASOUP_WORKER_BIN);
    expect(workerBin).toMatch(/^\/opt\/mediasoup-worker\//);
    expect(all(build, 'RUN').join('\n')).toContain('mediasoup-version" /opt/mediasoup-worker/');
    // Any other variable set in the image is a configuration key.
    const known = Object.keys(defaults);
    for (const key of Object.keys(envOf(runtime)).filter((k) => k !== 'MEDIASOUP_WORKER_BIN')) expect(known).toContain(key);
  });

  it('exposes exactly the configured HTTP port and RTP range', () => {
    const exposed = one(runtime, 'EXPOSE').split(' ').sort();
    expect(exposed).toEqual([`${defaults.HTTP_PORT}/tcp`, `${defaults.RTP_MIN_PORT}-${defaults.RTP_MAX_PORT}/udp`].sort());
  });

  it('checks health on a route the gateway serves, at the configured HTTP port', async () => {
    const healthcheck = one(runtime, 'HEALTHCHECK');
    const command = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4)) as string[];
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    const url = /http:\/\/127\.0\.0\.1:\$\{process\.env\.HTTP_PORT \|\| (\d+)\}(\/\S*?)`/.exec(command[2]!);
    expect(url, command[2]).not.toBeNull();
    expect(Number(url![1])).toBe(defaults.HTTP_PORT);
    const path = url![2]!;
    expect(path).toBe('/readyz');
    const app = Fastify();
    try {
      await app.register(healthRoutes, { readiness: [] });
      expect((await app.inject({ method: 'GET', url: path })).json()).toEqual({ status: 'ready', checks: {} });
    } finally {
      await app.close();
    }
  });

  it('builds from the sources alone: what it copies exists, what the host built or installed stays out', () => {
    for (const copy of all(build, 'COPY')) {
      const sources = copy.split(' ').slice(0, -1);
      for (const source of sources) expect(existsSync(new URL(`../../${source}`, import.meta.url)), source).toBe(true);
    }
    const ignored = readRepoFile('.dockerignore').split('\n').map((line) => line.trim());
    for (const entry of ['node_modules', 'dist', '.git']) expect(ignored).toContain(entry);
    for (const copied of ['package.json', 'package-lock.json', 'scripts', 'src', 'config', 'tsconfig.json']) expect(ignored).not.toContain(copied);
  });
});

describe('README', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

  it('documents every configuration key', () => {
    for (const key of Object.keys(defaults)) expect(readme, key).toContain(`\`${key}\``);
  });

  it('has a Quick start with the two command lines .ci/run relies on', () => {
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    const testCommand = 'bash scripts/setup.sh --test && PATH="$(bash scripts/node.sh):$PATH" npm test';
    expect(readme).toContain(
      'bash scripts/setup.sh && PATH="$(bash scripts/node.sh):$PATH" npm run build && PATH="$(bash scripts/node.sh):$PATH" npm start',
    );
    expect(readme).toContain(testCommand);
    expect(ci).toContain(testCommand);
  });
});
