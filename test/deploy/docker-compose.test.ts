import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, readDefaults } from '../../src/config/config.js';

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
}

const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as {
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

const gatewayEnv = Object.fromEntries(Object.entries(gateway.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));

describe('docker-compose.yml', () => {
  it('parses and runs drachtio-server, redis and the gateway', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['drachtio', 'gateway', 'redis']);
    expect(drachtio.image).toMatch(/^drachtio\/drachtio-server:/);
    expect(compose.services.redis?.image).toMatch(/^redis:/);
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

describe('README', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

  it('documents every configuration key', () => {
    for (const key of Object.keys(defaults)) expect(readme, key).toContain(`\`${key}\``);
  });

  it('has a Quick start with the two command lines .ci/run relies on', () => {
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    const testCommand = 'bash scripts/setup.sh --test && PATH="$(bash scripts/node.sh):$PATH" npm test';
    expect(readme).toContain('bash scripts/setup.sh && PATH="$(bash scripts/node.sh):$PATH" npm start');
    expect(readme).toContain(testCommand);
    expect(ci).toContain(testCommand);
  });
});
