/**
 * TypeBox pieces the routes share: the error body and the security the API document
 * declares. Each route's schema is a TypeBox type, so the validator, the serializer, the
 * handler's request type and the OpenAPI document (api-docs.ts) all read one definition.
 */
import type { RouteOptions } from 'fastify';
import { type TSchema, Type } from 'typebox';

/** Every 4xx/5xx body (see the error handler in app.ts). */
export const errorView = Type.Object({
  error: Type.String({ description: 'a stable code: bad_request, unauthorized, forbidden, not_found, conflict, gone, unavailable…' }),
  message: Type.String({ description: 'what is wrong, for a person to read' }),
});

/** errorView, saying when a route gives it: the description the API document shows for the status. */
export function errorAnswer(description: string) {
  return Type.Object(errorView.properties, { description });
}

/** The 400 of a request the route's schema refuses. */
export const invalidRequest = errorAnswer('the request does not match its schema: the message names the field and the rule');

/** The 503 of a route that reads or writes the store. */
export const storeUnavailable = errorAnswer('the store (Redis) cannot be reached');

/** The schemes of components.securitySchemes in the API document. */
export const SECURITY_SCHEMES = {
  apiToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'API_TOKEN. When it is not set, the API answers only on loopback, and without a token.',
  },
  metricsToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'METRICS_TOKEN (the API token does not open /metrics). When it is not set, /metrics answers only on loopback, and without a token.',
  },
  twilioSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Twilio-Signature',
    description: "Twilio's HMAC-SHA1, keyed by TWILIO_AUTH_TOKEN, of PUBLIC_URL plus the path and the sorted form fields.",
  },
} as const;

type SecurityScheme = keyof typeof SECURITY_SCHEMES;

/**
 * An onRoute hook for a scope whose hook refuses requests (api-auth.ts, twilio-signature.ts):
 * each route of the scope gets the security requirement and the refusals' answers in its
 * schema, so no route of a guarded scope can be documented as open. A route's own answer
 * for the same status wins.
 */
export function documentGuard(scheme: SecurityScheme, refusals: Readonly<Record<number, TSchema>>) {
  return (route: RouteOptions): void => {
    const schema = route.schema ?? {};
    route.schema = {
      ...schema,
      security: [{ [scheme]: [] }],
      response: { ...refusals, ...(schema.response as Record<string, unknown> | undefined) },
    };
  };
}
