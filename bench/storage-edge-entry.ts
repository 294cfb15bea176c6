/** The storage scenarios inside a Durable Object: the DO-storage log against the object's own batched puts. */
import { durableObjectStorage, type DurableObjectStorageLike } from '../src/storage/durable-object.ts';
import type { ScenarioResult } from './harness.ts';
import { runStorageScenarios, type Backend } from './storage.ts';

// The object's storage with the batch forms of put/delete the raw contender uses.
type RawStorage = DurableObjectStorageLike & {
  put(entries: Record<string, unknown>): Promise<void>;
  delete(keys: string[]): Promise<number>;
  list<T>(options: { prefix: string }): Promise<Map<string, T>>;
};

const MAX_KEYS = 128; // what one DO put() call takes
const BATCH = 400; // the log's batch size

async function clear(storage: RawStorage, prefix: string): Promise<void> {
  const keys = [...(await storage.list({ prefix })).keys()];
  for (let i = 0; i < keys.length; i += MAX_KEYS) await storage.delete(keys.slice(i, i + MAX_KEYS));
}

function durableObjectBackend(storage: RawStorage): Backend {
  return {
    raw: [
      {
        name: 'storage.put in transactions of 400',
        // Batched transactions of the log's own batch size, each put at most 128 keys (the DO limit).
        async write(events) {
          for (let i = 0; i < events.length; i += BATCH) {
            await storage.transaction(async (txn) => {
              for (let c = i; c < Math.min(i + BATCH, events.length); c += MAX_KEYS) {
                const chunk = events.slice(c, Math.min(c + MAX_KEYS, i + BATCH));
                await txn.put(Object.fromEntries(chunk.map(([key, event]) => [`raw/${key}`, event])) as never);
              }
            });
          }
        },
      },
    ],
    rounds: 21, // a run takes ~50 ms here
    async fresh() {
      await clear(storage, 'happen/');
      return durableObjectStorage(storage, { prefix: 'happen/' });
    },
    resetRaw: () => clear(storage, 'raw/'),
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
    const results: ScenarioResult[] = await runStorageScenarios('Durable Object storage', durableObjectBackend(this.state.storage));
    return Response.json(results);
  }
}
