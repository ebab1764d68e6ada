import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { MeetingOwnership } from '../../src/cluster/meeting-ownership.js';
import { GatewayError } from '../../src/errors.js';
import { type PageRoutesOptions, pageRoutes } from '../../src/http/page-routes.js';
import type { MeetingState } from '../../src/meetings/meeting-service.js';
import { MemoryClusterStore } from '../../src/store/memory-cluster-store.js';
import { capturedLogger } from '../support/log-capture.js';

const MEETINGS: Record<string, MeetingState> = { 'weekly-sync': 'active', 'old_standup': 'ended' };

/** The page bundled once for this test run (test/setup/web-assets.ts), as npm run build bundles it. */
const assetsDir = inject('webAssetsDir');
let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** This node's view of which node hosts a meeting, over a cluster store other nodes may claim meetings in. */
function placementOver(cluster: MemoryClusterStore, log = capturedLogger().log): MeetingOwnership {
  return new MeetingOwnership(cluster, { nodeId: 'this-node', publicUrl: 'http://this.example.com', leaseMs: 60_000, serving: () => true, hosting: () => false }, log);
}

async function serve(meetingState: PageRoutesOptions['meetingState'] = async (id) => MEETINGS[id] ?? 'unknown', cluster = new MemoryClusterStore()) {
  const logs = capturedLogger();
  app = Fastify({ loggerInstance: logs.log as FastifyBaseLogger });
  await app.register(pageRoutes, { assetsDir, meetingState, placement: placementOver(cluster, logs.log) });
  return { url: await app.listen({ host: '127.0.0.1', port: 0 }), logs };
}

/** A GET with the path sent exactly as written: fetch would resolve "..", a browser too. */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(new URL(url), { path }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('GET /m/:meetingId', () => {
  it('serves the meeting page, which loads the bundle and the styles', async () => {
    const { url } = await serve();
    const response = await fetch(`${url}/m/weekly-sync`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await response.text();
    expect(html).toContain('<script type="module" src="/assets/main.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/assets/meeting.css">');
  });

  it.each([
    { name: 'an unknown meeting', path: '/m/no-such-meeting', status: 404, says: ['Meeting not found', 'There is no meeting with the ID no-such-meeting'] },
    { name: 'an ended meeting', path: '/m/old_standup', status: 410, says: ['This meeting has ended', 'Meeting old_standup is over'] },
  ])('answers $name with a $status page that says so', async ({ path, status, says }) => {
    const { url } = await serve();
    const response = await fetch(`${url}${path}`);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await response.text();
    for (const text of says) expect(html).toContain(text);
    expect(html).toContain('href="/assets/meeting.css"');
    expect(html).not.toContain('main.js');
  });

  it.each([
    { name: 'too short', id: 'ab' },
    { name: 'too long', id: 'a'.repeat(65) },
    { name: 'a dot', id: 'weekly.sync' },
    { name: 'markup', id: '%3Cscript%3Ealert(1)%3C%2Fscript%3E' },
    { name: 'a space', id: 'weekly%20sync' },
  ])('answers a meeting id with $name with the 404 page, without looking it up', async ({ id }) => {
    const meetingState = vi.fn(async (): Promise<MeetingState> => 'active');
    const { url } = await serve(meetingState);
    const response = await fetch(`${url}/m/${id}`);
    expect(response.status).toBe(404);
    const html = await response.text();
    expect(html).toContain('This link does not lead to a meeting');
    expect(html).not.toContain('<script');
    expect(meetingState).not.toHaveBeenCalled();
  });

  it('answers a failing meeting lookup with a 500 page and logs the error', async () => {
    const { url, logs } = await serve(async () => {
      throw new Error('store exploded');
    });
    const response = await fetch(`${url}/m/weekly-sync`);
    expect(response.status).toBe(500);
    const html = await response.text();
    expect(html).toContain('Meetings are unavailable');
    expect(html).not.toContain('store exploded');
    expect(logs.lines()).toContainEqual(expect.objectContaining({ level: 50, msg: 'meeting page failed' }));
  });

  it('answers an unavailable store with its 503 page and a warning', async () => {
    const { url, logs } = await serve(async () => {
      throw new GatewayError('unavailable', 'store unreachable');
    });
    const response = await fetch(`${url}/m/weekly-sync`);
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('Meetings are unavailable');
    expect(logs.lines()).toContainEqual(expect.objectContaining({ level: 40, msg: 'meeting page unavailable' }));
  });
});

describe('GET /assets/*', () => {
  it.each([
    { file: 'main.js', type: 'text/javascript; charset=utf-8' },
    { file: 'main.js.map', type: 'application/json; charset=utf-8' },
    { file: 'meeting.css', type: 'text/css; charset=utf-8' },
  ])('serves $file as $type', async ({ file, type }) => {
    const { url } = await serve();
    const response = await fetch(`${url}/assets/${file}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(type);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it('answers a repeated request with 304 when the file did not change', async () => {
    const { url } = await serve();
    const first = await fetch(`${url}/assets/meeting.css`);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    const again = await fetch(`${url}/assets/meeting.css`, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
  });

  it.each(['nope.js', 'meeting.html', '', 'main.js/'])('answers %j with 404', async (file) => {
    const { url } = await serve();
    expect((await fetch(`${url}/assets/${file}`)).status).toBe(404);
  });

  it.each([
    '/assets/../../package.json',
    '/assets/..%2F..%2Fpackage.json',
    '/assets/%2e%2e/%2e%2e/package.json',
    '/assets/..%5C..%5Cpackage.json',
    '/assets//etc/passwd',
    `/assets/${encodeURIComponent('/etc/passwd')}`,
  ])('does not let %s out of the assets directory', async (path) => {
    const { url } = await serve();
    const response = await rawGet(url, path);
    expect(response.status).toBe(404);
    expect(response.body).not.toContain('"dependencies"');
    expect(response.body).not.toContain('root:');
  });
});

describe('a meeting another node hosts', () => {
  it('answers 307 to its page on that node, keeping the query, and serves the page of one nobody hosts', async () => {
    const cluster = new MemoryClusterStore();
    await cluster.claimMeeting('weekly-sync', { nodeId: 'other-node', url: 'https://other.example.com' }, 60_000);
    const { url } = await serve(undefined, cluster);
    const hostedElsewhere = await fetch(`${url}/m/weekly-sync?name=Ada%20L`, { redirect: 'manual' });
    expect(hostedElsewhere.status).toBe(307);
    expect(hostedElsewhere.headers.get('location')).toBe('https://other.example.com/m/weekly-sync?name=Ada%20L');
    await cluster.releaseMeeting((await cluster.meetingOwner('weekly-sync'))!);
    expect((await fetch(`${url}/m/weekly-sync`, { redirect: 'manual' })).status).toBe(200);
  });
});

describe('registration', () => {
  it('fails at start-up, naming the file, when the assets were not built', async () => {
    const emptyDir = await mkdtemp(join(tmpdir(), 'page-routes-empty-'));
    try {
      app = Fastify();
      await expect(app.register(pageRoutes, { assetsDir: emptyDir, meetingState: async () => 'active', placement: placementOver(new MemoryClusterStore()) })).rejects.toThrow(
        /web asset meeting\.html is missing .*build it with npm run build/,
      );
    } finally {
      await rm(emptyDir, { recursive: true, force: true });
    }
  });
});
