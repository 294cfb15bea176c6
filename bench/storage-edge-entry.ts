/** The storage scenarios inside a Durable Object: the DO-storage log against the object's own batched puts. */
import { durableObjectStorage, type DurableObjectStorageLike } from '../src/storage/durable-object.ts';
import { runScenario, type ScenarioResult } from './harness.ts';
import { storageScenarios, type Backend } from './storage.ts';

// The object's storage with the batch forms of put/delete the raw contender uses.
type RawStorage = DurableObjectStorageLike & {
  put(entries: Record<string, unknown>): Promise<void>;
  delete(keys: string[]): Promise<number>;
  list<T>(options: { prefix: string }): Promise<Map<string, T>>;
};

const MAX_KEYS = 128; // what one DO put() call takes

async function clear(storage: RawStorage, prefix: string): Promise<void> {
  const keys = [...(await storage.list({ prefix })).keys()];
  for (let i = 0; i < keys.length; i += MAX_KEYS) await storage.delete(keys.slice(i, i + MAX_KEYS));
}

function durableObjectBackend(storage: RawStorage): Backend {
  return {
    rawName: 'storage.put, 128 keys a call',
    async fresh() {
      await clear(storage, 'happen/');
      return durableObjectStorage(storage, { prefix: 'happen/' });
    },
    resetRaw: () => clear(storage, 'raw/'),
    async writeRaw(events) {
      for (let i = 0; i < events.length; i += MAX_KEYS) {
        await storage.put(Object.fromEntries(events.slice(i, i + MAX_KEYS).map(([key, event]) => [`raw/${key}`, event])));
      }
    },
    async readRaw() {
      return (await storage.list({ prefix: 'raw/' })).size;
    },
  };
}

export default {
  fetch(request: Request, env: { BENCH: { get(id: unknown): { fetch(r: Request): Promise<Response> }; idFromName(n: string): unknown } }) {
    return env.BENCH.get(env.BENCH.idFromName('bench')).fetch(request);
  },
};

/** Runs the scenarios against its own storage and answers their results as JSON. */
export class BenchObject {
  constructor(private readonly state: { storage: RawStorage }) {}

  async fetch(): Promise<Response> {
    const results: ScenarioResult[] = [];
    for (const s of storageScenarios('Durable Object storage', durableObjectBackend(this.state.storage))) results.push(await runScenario(s));
    return Response.json(results);
  }
}
