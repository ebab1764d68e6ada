/** JSON schemas shared by the API routes. */

/** Every 4xx/5xx body: { error, message } (see the error handler in app.ts). */
export const errorView = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;
