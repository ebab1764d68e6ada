/**
 * application/x-www-form-urlencoded bodies, as Twilio posts its webhooks: parsed strictly
 * (a malformed escape or a pair without "=" is refused, not guessed at) into a map
 * without a prototype, with repeated names as arrays as Twilio's validator expects.
 * Registered only where forms are expected, with a limit of its own.
 */
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../errors.js';

export type FormFields = Record<string, string | string[]>;

export function acceptFormBodies(app: FastifyInstance, limitBytes: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', async (_request: unknown, payload: AsyncIterable<Buffer>) => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of payload) {
      size += chunk.length;
      if (size > limitBytes) throw new GatewayError('bad_request', `form body is larger than ${limitBytes} bytes`);
      chunks.push(chunk);
    }
    return parseForm(Buffer.concat(chunks).toString('utf8'));
  });
}

export function parseForm(text: string): FormFields {
  const fields: FormFields = Object.create(null) as FormFields;
  if (text === '') return fields;
  for (const pair of text.split('&')) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new GatewayError('bad_request', `malformed form body: "${pair.slice(0, 40)}" is not name=value`);
    const name = decodeFormText(pair.slice(0, equals));
    const value = decodeFormText(pair.slice(equals + 1));
    const known = fields[name];
    fields[name] = known === undefined ? value : [...(Array.isArray(known) ? known : [known]), value];
  }
  return fields;
}

function decodeFormText(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new GatewayError('bad_request', `malformed form body: bad percent-encoding in "${text.slice(0, 40)}"`);
  }
}
