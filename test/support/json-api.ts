/** JSON requests to the gateway's HTTP API. */

async function send(baseUrl: string, method: string, path: string, body: unknown): Promise<{ status: number; ok: boolean; text: string }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, ok: response.ok, text: await response.text() };
}

/** One JSON request and its answer, whatever the status: the status and the parsed body ({} when empty). */
export async function answerJson(baseUrl: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const { status, text } = await send(baseUrl, method, path, body);
  return { status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** The parsed answer of a 2xx, or an Error that names the request, the status and the body. */
export async function requestJson<T>(baseUrl: string, method: string, path: string, body?: unknown): Promise<T> {
  const { status, ok, text } = await send(baseUrl, method, path, body);
  if (!ok) throw new Error(`${method} ${path}: ${status} ${text}`);
  return JSON.parse(text) as T;
}
