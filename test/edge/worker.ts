/**
 * The workerd entry the edge runner bundles: the conformance suite runs in the Worker's fetch handler
 * (`/worker`) and inside a Durable Object (`/do`), each answering its results as JSON.
 */
import { runSuite } from '../conformance/runtime-entry.ts';

interface Env {
  SUITE: DurableObjectNamespaceLike;
}

// Minimal shapes of the workerd types we touch, so this file needs no @cloudflare/workers-types.
interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

function filterOf(request: Request): string | undefined {
  return new URL(request.url).searchParams.get('filter') || undefined;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === '/worker') return Response.json(await runSuite('cloudflare-worker', { filter: filterOf(request) }));
    if (pathname === '/do') return env.SUITE.get(env.SUITE.idFromName('suite')).fetch(request);
    return new Response('not found', { status: 404 });
  },
};

/** Runs the suite inside a Durable Object; its state is the hint that names the runtime. */
export class SuiteObject {
  constructor(private readonly state: unknown) {}

  async fetch(request: Request): Promise<Response> {
    return Response.json(await runSuite('durable-object', { filter: filterOf(request), hints: { durableObjectState: this.state } }));
  }
}
