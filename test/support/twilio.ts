/**
 * Twilio's side of the voice webhook, for tests: posts form-encoded webhooks signed the
 * way Twilio signs them (X-Twilio-Signature over the public URL and the sorted
 * parameters), parses the TwiML answers as XML and follows their <Gather> actions.
 */
import { DOMParser, type Document, type Element } from '@xmldom/xmldom';
import type { FastifyInstance } from 'fastify';
import twilio from 'twilio';

export interface WebhookAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

export interface SignOptions {
  /** null: no X-Twilio-Signature header at all. */
  readonly signature?: string | null;
  /** The URL the signature is computed over; default: the public URL of the request. */
  readonly signedUrl?: string;
  readonly contentType?: string;
  /** Sent instead of the form-encoded parameters. */
  readonly rawBody?: string;
}

export class TwilioWebhooks {
  /** @param gateway the gateway's HTTP address, or its app to inject() into */
  constructor(
    private readonly gateway: string | FastifyInstance,
    readonly publicUrl: string,
    private readonly authToken: string,
  ) {}

  /** POSTs params to path (e.g. "/twilio/voice?x=1"), signed for PUBLIC_URL + path. */
  async post(path: string, params: Readonly<Record<string, string>>, options: SignOptions = {}): Promise<WebhookAnswer> {
    const signature =
      options.signature === undefined ? twilio.getExpectedTwilioSignature(this.authToken, options.signedUrl ?? this.publicUrl + path, params) : options.signature;
    const headers = {
      'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
      ...(signature === null ? {} : { 'x-twilio-signature': signature }),
    };
    const body = options.rawBody ?? new URLSearchParams(params).toString();
    if (typeof this.gateway !== 'string') {
      const response = await this.gateway.inject({ method: 'POST', url: path, headers, payload: body });
      return { status: response.statusCode, contentType: String(response.headers['content-type'] ?? ''), text: response.body };
    }
    const response = await fetch(this.gateway + path, { method: 'POST', headers, body });
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
  }

  /** POSTs to a URL the TwiML named (an absolute PUBLIC_URL address), as Twilio would. */
  follow(actionUrl: string, params: Readonly<Record<string, string>>): Promise<WebhookAnswer> {
    if (!actionUrl.startsWith(this.publicUrl)) throw new Error(`${actionUrl} is not under PUBLIC_URL ${this.publicUrl}`);
    return this.post(actionUrl.slice(this.publicUrl.length), params);
  }
}

/** The TwiML document; throws when the text is not well-formed XML with a <Response> root. */
export function parseTwiml(text: string): Document {
  const doc = new DOMParser({
    onError: (level, message) => {
      if (level !== 'warning') throw new Error(`TwiML is not well-formed: ${message}`);
    },
  }).parseFromString(text, 'text/xml');
  if (doc.documentElement?.tagName !== 'Response') throw new Error(`TwiML root is ${doc.documentElement?.tagName}, not Response`);
  return doc;
}

/** The verbs under <Response>, each as its tag name, attributes, text and child verbs. */
export interface TwimlVerb {
  readonly verb: string;
  readonly attributes: Record<string, string>;
  readonly text: string;
  readonly children: TwimlVerb[];
}

export function twimlVerbs(text: string): TwimlVerb[] {
  return elementChildren(parseTwiml(text).documentElement as Element).map(verbOf);
}

function verbOf(element: Element): TwimlVerb {
  const attributes: Record<string, string> = {};
  for (let i = 0; i < element.attributes.length; i++) {
    const attribute = element.attributes.item(i);
    if (attribute) attributes[attribute.name] = attribute.value;
  }
  const children = elementChildren(element);
  return { verb: element.tagName, attributes, text: children.length === 0 ? (element.textContent ?? '') : '', children: children.map(verbOf) };
}

function elementChildren(element: Element): Element[] {
  const children: Element[] = [];
  for (let node = element.firstChild; node; node = node.nextSibling) if (node.nodeType === 1) children.push(node as Element);
  return children;
}
