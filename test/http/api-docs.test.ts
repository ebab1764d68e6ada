/**
 * The API document at /docs/json: a valid OpenAPI 3.1 document (checked by an OpenAPI
 * schema validator) that lists every route the app registers, each with its guard, and the
 * Swagger UI at /docs, served from the package's own files, open without a token.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpApp, registerRoutes } from '../../src/http/app.js';
import { memoryApp } from '../support/app.js';

interface Operation {
  readonly summary?: string;
  readonly tags?: string[];
  readonly security?: Array<Record<string, string[]>>;
  readonly responses: Record<string, unknown>;
}

interface ApiDocument {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components: { readonly securitySchemes: Record<string, unknown> };
}

const { deps } = memoryApp({ API_TOKEN: 'docs-api-token-0123456789', METRICS_TOKEN: 'docs-metrics-token-0123456789', TWILIO_AUTH_TOKEN: 'twilio-token-0123456789' });
const FROM_ELSEWHERE = '203.0.113.9';
let app: FastifyInstance;
/** Every method and URL the app registered, as its onRoute hook saw them. */
const registered: Array<{ method: string; url: string }> = [];
let documentText: string;
let document: ApiDocument;

beforeAll(async () => {
  app = await buildHttpApp(deps.log);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) registered.push({ method, url: route.url });
  });
  await registerRoutes(app, deps);
  await app.ready();
  documentText = (await app.inject({ url: '/docs/json', remoteAddress: FROM_ELSEWHERE })).body;
  document = JSON.parse(documentText) as ApiDocument;
});

afterAll(async () => {
  await app.close();
});

/** `/api/meetings/:id` as OpenAPI writes it: `/api/meetings/{id}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/**
 * What the document leaves out on purpose: the HEAD twin Fastify adds to every GET (it
 * answers as the GET does, without a body), Swagger UI's own routes under /docs, and the
 * meeting page's bundle under /assets/ (build output the page loads, not an interface).
 */
const undocumented = ({ method, url }: { method: string; url: string }) => method === 'HEAD' || url === '/docs' || url.startsWith('/docs/') || url.startsWith('/assets/');

describe('GET /docs/json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(documentText) as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('lists every route the app registers, with its method', () => {
    const routes = registered.filter((route) => !undocumented(route));
    expect(routes.length).toBeGreaterThan(20);
    const missing = routes.filter(({ method, url }) => document.paths[openApiPath(url)]?.[method.toLowerCase()] === undefined);
    expect(missing).toEqual([]);
    const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(routes.map(({ method, url }) => `${method} ${openApiPath(url)}`).sort());
  });

  it('gives every operation a summary, a tag and its answers', () => {
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(operation.summary, `${method} ${path}`).toMatch(/\w/);
        expect(operation.tags, `${method} ${path}`).toHaveLength(1);
        expect(Object.keys(operation.responses).length, `${method} ${path}`).toBeGreaterThan(0);
      }
    }
  });

  it('says which token each guarded route needs, and what it answers without one', () => {
    const schemes = (path: string, method: string) => document.paths[path]?.[method]?.security?.flatMap((requirement) => Object.keys(requirement));
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (path.startsWith('/api/')) {
          expect(schemes(path, method), `${method} ${path}`).toEqual(['apiToken']);
          expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['401', '403']));
        } else if (path.startsWith('/twilio/')) {
          expect(schemes(path, method), `${method} ${path}`).toEqual(['twilioSignature']);
          expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['403', '503']));
        } else if (path === '/metrics') {
          expect(schemes(path, method)).toEqual(['metricsToken']);
        } else {
          expect(operation.security, `${method} ${path}`).toBeUndefined();
        }
      }
    }
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['apiToken', 'metricsToken', 'twilioSignature']);
  });

  it('documents the error body the error handler sends', () => {
    const notFound = document.paths['/api/meetings/{id}']?.get?.responses['404'];
    expect(notFound).toMatchObject({
      content: { 'application/json': { schema: { type: 'object', required: ['error', 'message'], properties: { error: { type: 'string' }, message: { type: 'string' } } } } },
    });
  });
});

describe('GET /docs', () => {
  it('answers the Swagger UI page, open without a token from anywhere, under a CSP', async () => {
    const page = await app.inject({ url: '/docs', remoteAddress: FROM_ELSEWHERE });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<div id="swagger-ui">');
    expect(page.headers['content-security-policy']).toMatch(/^default-src 'self';.*frame-ancestors 'none'/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  });

  it('serves every script and style the page loads itself, from the package, none from another host', async () => {
    const page = await app.inject({ url: '/docs' });
    const loads = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? '');
    expect(loads).toEqual(expect.arrayContaining(['/docs/static/swagger-ui-bundle.js', '/docs/static/swagger-initializer.js', '/docs/static/swagger-ui.css']));
    for (const load of loads) {
      const asset = await app.inject({ url: new URL(load, 'http://gateway.test/docs').pathname });
      expect(asset.statusCode, load).toBe(200);
      expect(asset.headers['content-security-policy'], load).toBeDefined();
    }
    const initializer = await app.inject({ url: '/docs/static/swagger-initializer.js' });
    // No call to swagger.io's online validator.
    expect(initializer.body).toContain('validatorUrl: null');
  });
});
