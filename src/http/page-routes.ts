/**
 * The meeting page: GET /m/:meetingId (the page, a 307 to the node hosting the meeting, or
 * a 404/410 HTML page saying why not)
 * and GET /assets/* (the bundle npm run build wrote, see web-assets.ts). The few asset files are read once
 * at registration and served from memory by exact name, so no request path ever reaches
 * the file system (no traversal) and a missing build fails at start-up, not per request.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { GatewayError } from '../errors.js';
import { isMeetingId } from '../meetings/meeting-id.js';
import type { MeetingPlacement } from '../cluster/meeting-ownership.js';
import type { MeetingState } from '../meetings/meeting-service.js';
import { WEB_ASSET_FILES } from './web-assets.js';

export interface PageRoutesOptions {
  /** Where the bundled page is (dist/public after npm run build). */
  readonly assetsDir: string;
  meetingState(meetingId: string): Promise<MeetingState>;
  /** Which node hosts a meeting: the page of a meeting hosted elsewhere redirects there. */
  readonly placement: Pick<MeetingPlacement, 'locate'>;
}

const HTML = 'text/html; charset=utf-8';
const CONTENT_TYPES: Record<string, string> = {
  '.html': HTML,
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

// The page loads only its own script and styles and talks only to its own host (the
// signaling WebSocket); 'self' covers ws:/wss: to the same host in current browsers.
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

const htmlAnswer = (description: string) => ({ description, content: { 'text/html': { schema: Type.String() } } });

interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

export const pageRoutes: FastifyPluginAsyncTypebox<PageRoutesOptions> = async (app, { assetsDir, meetingState, placement }) => {
  const page = await loadAsset(assetsDir, WEB_ASSET_FILES.page);
  const pageHtml = page.body.toString('utf8');
  const assets = new Map<string, Asset>(
    await Promise.all(
      [WEB_ASSET_FILES.script, WEB_ASSET_FILES.sourceMap, WEB_ASSET_FILES.styles].map(
        async (file) => [file, await loadAsset(assetsDir, file)] as const,
      ),
    ),
  );

  app.get(
    '/m/:meetingId',
    {
      schema: {
        tags: ['pages'],
        summary: 'The meeting page',
        description: 'Asks for a name (or joins at once with ?name=), then joins the meeting in the browser.',
        params: Type.Object({ meetingId: Type.String() }),
        response: {
          200: htmlAnswer('the meeting page'),
          307: Type.Null({ description: 'another node hosts the meeting: Location is its page there (query kept)' }),
          404: htmlAnswer('a page saying there is no such meeting'),
          410: htmlAnswer('a page saying the meeting has ended'),
        },
      },
    },
    async (request, reply) => {
      const { meetingId } = request.params;
      if (!isMeetingId(meetingId)) return sendErrorPage(reply, 404, NOT_A_MEETING);
      const state = await meetingState(meetingId);
      switch (state) {
        case 'active': {
          const where = await placement.locate(meetingId);
          if (where.kind === 'elsewhere') {
            const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
            return reply.code(307).header('cache-control', 'no-store').header('location', `${where.url}/m/${encodeURIComponent(meetingId)}${query}`).send(null);
          }
          return reply.code(200).headers(PAGE_HEADERS).type(page.contentType).send(pageHtml);
        }
        case 'ended':
          return sendErrorPage(reply, 410, ended(meetingId));
        case 'unknown':
          return sendErrorPage(reply, 404, unknown(meetingId));
        default:
          return unexpected(state);
      }
    },
  );

  // The page's own bundle, not an interface: left out of the API document.
  app.get<{ Params: { '*': string } }>('/assets/*', { schema: { hide: true } }, async (request, reply) => {
    const asset = assets.get(request.params['*']);
    if (!asset) return reply.code(404).type('text/plain; charset=utf-8').send('not found');
    reply.headers({ etag: asset.etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.type(asset.contentType).send(asset.body);
  });

  // A person is reading: failures on these routes answer with a page, not JSON.
  app.setErrorHandler((error: FastifyError | GatewayError, request, reply) => {
    const status = error instanceof GatewayError ? error.httpStatus : (error.statusCode ?? 500);
    if (status < 500) return sendErrorPage(reply, status, { heading: 'This page cannot be shown', text: error.message });
    // An expected outage (store down) is a warning; anything else is a bug.
    if (error instanceof GatewayError) request.log.warn({ err: error, url: request.url }, 'meeting page unavailable');
    else request.log.error({ err: error, url: request.url }, 'meeting page failed');
    return sendErrorPage(reply, status, UNAVAILABLE);
  });
};

async function loadAsset(assetsDir: string, file: string): Promise<Asset> {
  const body = await readFile(join(assetsDir, file)).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`web asset ${file} is missing in ${assetsDir} (${error.code}): build it with npm run build`);
  });
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { body, contentType: CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', etag };
}

function unexpected(state: never): never {
  throw new Error(`meetingState answered ${String(state)}`);
}

interface ErrorPage {
  readonly heading: string;
  /** Plain text; escaped when rendered. */
  readonly text: string;
}

const NOT_A_MEETING: ErrorPage = {
  heading: 'Meeting not found',
  text: 'This link does not lead to a meeting. Check the address you were given.',
};

const UNAVAILABLE: ErrorPage = {
  heading: 'Meetings are unavailable',
  text: 'The meeting service ran into a problem. Try again in a moment.',
};

function unknown(meetingId: string): ErrorPage {
  return { heading: 'Meeting not found', text: `There is no meeting with the ID ${meetingId}. Check the link you were given.` };
}

function ended(meetingId: string): ErrorPage {
  return { heading: 'This meeting has ended', text: `Meeting ${meetingId} is over. Ask the host for a new link.` };
}

function sendErrorPage(reply: FastifyReply, status: number, page: ErrorPage): FastifyReply {
  return reply.code(status).headers(PAGE_HEADERS).type(HTML).send(renderErrorPage(status, page));
}

function renderErrorPage(status: number, page: ErrorPage): string {
  const heading = escapeHtml(page.heading);
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <title>${heading}</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/assets/${WEB_ASSET_FILES.styles}">
</head>
<body>
  <main class="shell">
    <section class="card error-page">
      <p class="eyebrow">Error ${status}</p>
      <h1>${heading}</h1>
      <p>${escapeHtml(page.text)}</p>
    </section>
  </main>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
