/**
 * Fetch as events: the `http` node turns each request into an event for the node its route names,
 * and that node's answer into the Response — or its typed error into a JSON error with the status
 * its category and code call for (bad input is a 400 naming what was wrong).
 */
import { HappenError, type Happen, type HappenNode } from '../../src/index.ts';

/** One route: `METHOD /path` → an event of `type` sent to `node` (the JSON body, if any, is the payload). */
export interface Route {
  method: 'GET' | 'POST';
  path: string;
  node: string;
  type: string;
}

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 16 * 1024;

const STATUS_BY_CODE: Record<string, number> = { NO_ROUTE: 404, METHOD_NOT_ALLOWED: 405, BODY_TOO_LARGE: 413, UNSUPPORTED_MEDIA_TYPE: 415 };
const STATUS_BY_CATEGORY: Record<string, number> = { validation: 400, security: 403, timeout: 504, network: 502, runtime: 500 };

/** The JSON error body: the typed error, its schema issues reduced to `{ path, message }`. */
export function errorResponse(error: HappenError, headers: HeadersInit = {}): Response {
  const status = STATUS_BY_CODE[error.code] ?? STATUS_BY_CATEGORY[error.category] ?? 500;
  const details = error.details as { issues?: Array<{ message: string; path?: Array<{ key?: unknown } | PropertyKey> }> } | undefined;
  const issues = details?.issues?.map((issue) => ({
    path: (issue.path ?? []).map((p) => (typeof p === 'object' && p !== null ? p.key : p)).join('.'),
    message: issue.message,
  }));
  // A runtime failure is the function's own fault: say so without leaking its message.
  const message = status === 500 ? 'Internal error' : error.message;
  const body = { error: { category: error.category, code: status === 500 ? 'INTERNAL' : error.code, message, ...(issues ? { issues } : status < 500 && details !== undefined ? { details } : {}) } };
  return Response.json(body, { status, headers });
}

/** Creates the `http` node in `happen` and returns the fetch handler that speaks through it. */
export function httpNode(happen: Happen, routes: Route[]): { node: HappenNode; fetch(request: Request): Promise<Response> } {
  const node = happen.createNode('http');
  const fetch = async (request: Request): Promise<Response> => {
    const { pathname } = new URL(request.url);
    const onPath = routes.filter((r) => r.path === pathname);
    const route = onPath.find((r) => r.method === request.method);
    try {
      if (onPath.length === 0) throw new HappenError('validation', 'NO_ROUTE', `No route ${request.method} ${pathname}`);
      if (!route) throw new HappenError('validation', 'METHOD_NOT_ALLOWED', `${pathname} takes ${onPath.map((r) => r.method).join(', ')}, not ${request.method}`);
      const payload = route.method === 'POST' ? await readJson(request) : Object.fromEntries(new URL(request.url).searchParams);
      const sent = node.send(route.node, { type: route.type, payload });
      const headers = { 'x-happen-correlation-id': sent.event.context.causal.correlationId };
      try {
        return Response.json(await sent.return(), { headers });
      } catch (error) {
        return errorResponse(HappenError.from(error), headers);
      }
    } catch (error) {
      return errorResponse(HappenError.from(error));
    }
  };
  return { node, fetch };
}

async function readJson(request: Request): Promise<unknown> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) throw new HappenError('validation', 'UNSUPPORTED_MEDIA_TYPE', `The body must be application/json (got ${type || 'no content-type'})`);
  const text = await request.text();
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_BODY_BYTES) throw new HappenError('validation', 'BODY_TOO_LARGE', `The body is ${bytes} bytes; at most ${MAX_BODY_BYTES} are accepted`, { bytes, max: MAX_BODY_BYTES });
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new HappenError('validation', 'INVALID_JSON', `The body is not JSON: ${(cause as Error).message}`);
  }
}
