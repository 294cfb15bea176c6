/**
 * The workerd entry the edge runner bundles: the conformance suite runs in the Worker's fetch handler
 * (`/worker`) and inside a Durable Object (`/do`, where the Durable Object storage tests join it),
 * each answering its results as JSON. `/restart?step=write|read` serves run.mjs's restart test.
 */
import type { DurableObjectStorageLike } from '../../src/storage/durable-object.ts';
import { runSuite } from '../conformance/runtime-entry.ts';
import { registerDurableObjectTests, restartStep } from './durable-object.ts';

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
    if (pathname === '/restart') return env.SUITE.get(env.SUITE.idFromName('restart')).fetch(request);
    return new Response('not found', { status: 404 });
  },
};

interface DurableObjectStateLike {
  storage: DurableObjectStorageLike;
}

// The registry is module-global and shared with the Worker's handler, so the DO tests are registered
// once (the DO is first constructed after /worker has run) and reach the storage of whichever instance is current.
let currentStorage: DurableObjectStorageLike | undefined;

/** Runs the suite inside a Durable Object; its state is the hint that names the runtime. */
export class SuiteObject {
  constructor(private readonly state: DurableObjectStateLike) {
    currentStorage = state.storage;
    registerDurableObjectTests(() => currentStorage!);
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/restart') return Response.json(await restartStep(url.searchParams.get('step') ?? '', this.state.storage));
    return Response.json(await runSuite('durable-object', { filter: filterOf(request), hints: { durableObjectState: this.state } }));
  }
}
