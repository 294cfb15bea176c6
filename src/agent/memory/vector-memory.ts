/** Vector memory: items found by the cosine similarity of their embeddings to the query's. */
import { HappenError } from '../../core/errors.ts';
import { createIdGenerator } from '../../core/ids.ts';
import { memoryStorage } from '../../storage/memory.ts';
import type { Storage } from '../../storage/storage.ts';
import type { Embedder, MemoryHit, MemoryItem, MemorySystem } from '../memory-system.ts';
import { checkId, checkNamespace, checkRetrieve, checkTtl, isLive, newItem, notFound, patchItem, rank, sweep } from './kv-memory.ts';

/** Options of {@link vectorMemory}. */
export interface VectorMemoryOptions {
  /** Turns contents and queries into vectors (e.g. `lexicalEmbedder()` or an embeddings endpoint). */
  embedder: Embedder;
  /** Where items and their vectors persist (default: in memory, gone with the instance). */
  storage?: Storage;
  /** Whose memory this is on `storage` (default `'default'`). */
  namespace?: string;
  /** The clock TTLs and timestamps use (default `Date.now`). */
  now?: () => number;
  /** TTL in ms of items stored without one (default: they never expire). */
  defaultTtl?: number;
}

/** What is stored per item: the item and its embedding, written together so neither exists alone. */
interface Entry {
  item: MemoryItem;
  vector: number[];
}

/**
 * The cosine of the angle between two vectors, from -1 to 1 (0 when either is all zeros). Throws
 * `EMBEDDING_MISMATCH` when their lengths differ.
 */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw mismatch(`Cannot compare vectors of ${a.length} and ${b.length} dimensions`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * A vector {@link MemorySystem}: `store` embeds the content, `retrieve` embeds the query and returns the
 * live items of highest cosine similarity (a score of 0 or less is never a match). The items are kept
 * in memory; with `storage` they also persist under `namespace` and are loaded on first use, so a
 * new instance sees what earlier ones stored (one writer per namespace: an instance does not see
 * items another one stores after it loaded). An embedder failure rejects the call with its error and
 * stores nothing; an embedding of another length than the stored ones rejects with `EMBEDDING_MISMATCH`.
 */
export function vectorMemory(options: VectorMemoryOptions): MemorySystem {
  const embedder = options?.embedder;
  if (typeof embedder?.embed !== 'function') throw new HappenError('validation', 'INVALID_MEMORY_INPUT', 'vectorMemory needs an embedder');
  const storage = options.storage ?? memoryStorage();
  const prefix = `memory/vector/${checkNamespace(options.namespace ?? 'default')}/`;
  const now = options.now ?? Date.now;
  const defaultTtl = checkTtl(options.defaultTtl, 'defaultTtl');
  const ids = createIdGenerator(now);
  let loading: Promise<Map<string, Entry>> | undefined;

  const entries = () => {
    loading ??= storage.list<Entry>({ prefix }).then(
      (list) => new Map(list.map(([, entry]) => [entry.item.id, entry])),
      (error) => {
        loading = undefined; // a failed load is retried by the next call
        throw error;
      },
    );
    return loading;
  };
  const dimensions = (map: Map<string, Entry>) => map.values().next().value?.vector.length;
  const embed = async (text: string, map: Map<string, Entry>) => {
    const vector = await embedOne(embedder, text);
    const expected = dimensions(map);
    if (expected !== undefined && vector.length !== expected) {
      throw mismatch(`The embedder "${embedder.name}" returned ${vector.length} dimensions; this memory holds ${expected}`);
    }
    return vector;
  };
  const put = async (map: Map<string, Entry>, entry: Entry) => {
    await storage.put(prefix + entry.item.id, entry);
    map.set(entry.item.id, entry);
  };
  const live = async (id: string) => {
    const entry = (await entries()).get(checkId(id));
    return entry !== undefined && isLive(entry.item, now()) ? entry : undefined;
  };

  return {
    async store(content, storeOptions) {
      const item = newItem(content, storeOptions, now(), ids, defaultTtl);
      const map = await entries();
      await put(map, { item, vector: await embed(item.content, map) });
      return item;
    },
    async retrieve(query, retrieveOptions) {
      const { limit, minScore } = checkRetrieve(query, retrieveOptions);
      const map = await entries();
      if (map.size === 0 || limit === 0) return [];
      const vector = await embed(query, map);
      const at = now();
      const expired = [...map.values()].filter((entry) => !isLive(entry.item, at));
      for (const entry of expired) map.delete(entry.item.id);
      await sweep(storage, expired.map((entry) => [prefix + entry.item.id, entry]));
      const hits: MemoryHit[] = [];
      for (const { item, vector: other } of map.values()) {
        const score = cosineSimilarity(vector, other);
        if (score > 0 && score >= minScore) hits.push({ ...item, score });
      }
      return rank(hits, limit);
    },
    async get(id) {
      return (await live(id))?.item;
    },
    async update(id, patch) {
      const entry = await live(id);
      if (entry === undefined) throw notFound(id);
      const item = patchItem(entry.item, patch, now());
      const map = await entries();
      const vector = item.content === entry.item.content ? entry.vector : await embed(item.content, map);
      await put(map, { item, vector });
      return item;
    },
    async forget(id) {
      const map = await entries();
      const entry = map.get(checkId(id));
      if (entry === undefined) return false;
      await storage.delete(prefix + id);
      map.delete(id);
      return isLive(entry.item, now());
    },
  };
}

async function embedOne(embedder: Embedder, text: string): Promise<number[]> {
  let vectors: unknown;
  try {
    vectors = await embedder.embed([text]);
  } catch (error) {
    if (error instanceof HappenError) throw error;
    throw new HappenError('runtime', 'EMBEDDING_FAILED', `The embedder "${embedder.name}" failed: ${error instanceof Error ? error.message : String(error)}`, undefined, { cause: error });
  }
  const vector = Array.isArray(vectors) && vectors.length === 1 ? vectors[0] : undefined;
  if (!Array.isArray(vector) || vector.length === 0 || !vector.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw mismatch(`The embedder "${embedder.name}" must return one non-empty vector of finite numbers per text`);
  }
  return vector as number[];
}

function mismatch(message: string): HappenError {
  return new HappenError('runtime', 'EMBEDDING_MISMATCH', message);
}
