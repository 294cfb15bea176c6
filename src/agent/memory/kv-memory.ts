/**
 * Key-value memory: items on a storage under one namespace, with TTLs, found by id or by words.
 * Also the item rules every memory shares (input checks, new items, patches, expiry).
 */
import { HappenError } from '../../core/errors.ts';
import { createIdGenerator, type IdGenerator } from '../../core/ids.ts';
import type { Storage } from '../../storage/storage.ts';
import type { MemoryHit, MemoryItem, MemoryPatch, MemorySystem, RetrieveOptions, StoreOptions } from '../memory-system.ts';

/** Options of {@link kvMemory}. */
export interface KvMemoryOptions {
  /** Whose memory this is (e.g. the agent's id); memories with other namespaces on the same storage never meet. */
  namespace: string;
  /** The clock TTLs and timestamps use (default `Date.now`). */
  now?: () => number;
  /** TTL in ms of items stored without one (default: they never expire). */
  defaultTtl?: number;
}

/**
 * A key-value {@link MemorySystem} on `storage`. `retrieve(query)` ranks: an item whose id equals the
 * query scores 1; one whose id starts with it 0.9; otherwise an item whose content contains every word
 * of the query (case-insensitive substrings) scores 0.8 × the fraction of its own words that contain a
 * query word — so the tighter the item, the higher. Ties go to the most recently updated. An empty
 * query matches nothing.
 * Every call reads storage, so several instances over one storage see each other's writes.
 */
export function kvMemory(storage: Storage, options: KvMemoryOptions): MemorySystem {
  if (!isPlainObject(options)) throw invalid('kvMemory needs options with a namespace');
  const prefix = `memory/kv/${checkNamespace(options.namespace)}/`;
  const now = options.now ?? Date.now;
  const defaultTtl = checkTtl(options.defaultTtl, 'defaultTtl');
  const key = (id: string) => prefix + id;
  const ids = createIdGenerator(now);

  const live = async (id: string) => {
    const item = await storage.get<MemoryItem>(key(checkId(id)));
    return item !== undefined && isLive(item, now()) ? item : undefined;
  };

  return {
    async store(content, storeOptions) {
      const item = newItem(content, storeOptions, now(), ids, defaultTtl);
      await storage.put(key(item.id), item);
      return item;
    },
    async retrieve(query, retrieveOptions) {
      const { limit, minScore } = checkRetrieve(query, retrieveOptions);
      if (query.length === 0 || limit === 0) return [];
      const all = await storage.list<MemoryItem>({ prefix });
      const at = now();
      await sweep(storage, all.filter(([, item]) => !isLive(item, at)));
      const words = wordsOf(query);
      const hits: MemoryHit[] = [];
      for (const [, item] of all) {
        if (!isLive(item, at)) continue;
        const score = item.id === query ? 1 : item.id.startsWith(query) ? 0.9 : wordScore(words, item.content);
        if (score > 0 && score >= minScore) hits.push({ ...item, score });
      }
      return rank(hits, limit);
    },
    get: live,
    async update(id, patch) {
      const item = await live(id);
      if (item === undefined) throw notFound(id);
      const next = patchItem(item, patch, now());
      await storage.put(key(id), next);
      return next;
    },
    async forget(id) {
      const item = await storage.get<MemoryItem>(key(checkId(id)));
      if (item === undefined) return false;
      await storage.delete(key(id));
      return isLive(item, now());
    },
  };
}

function wordScore(words: string[], content: string): number {
  if (words.length === 0) return 0;
  const text = content.toLowerCase();
  if (!words.every((word) => text.includes(word))) return 0;
  const own = wordsOf(content);
  const covered = own.filter((w) => words.some((q) => w.includes(q))).length;
  // A query word can span the item's words ("new york" in "newyork"); it still matched.
  return 0.8 * Math.max(covered, 1) / Math.max(own.length, 1);
}

function wordsOf(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}\p{M}]+/u).filter((w) => w.length > 0);
}

/** Deletes expired items found while reading, unless something rewrote them meanwhile. @internal */
export async function sweep(storage: Storage, expired: Array<[string, unknown]>): Promise<void> {
  if (expired.length === 0) return;
  try {
    await storage.batch(expired.map(([key]) => ({ type: 'delete' as const, key })), expired.map(([key, value]) => ({ key, value })));
  } catch (error) {
    if (!(error instanceof HappenError && error.code === 'CONFLICT')) throw error; // rewritten: leave it for next time
  }
}

/** Hits best first (ties: most recently updated, then id), at most `limit`. @internal */
export function rank(hits: MemoryHit[], limit: number): MemoryHit[] {
  hits.sort((a, b) => b.score - a.score || b.updatedAt - a.updatedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return hits.slice(0, limit);
}

/** True while an item has not expired at `now`. @internal */
export function isLive(item: MemoryItem, now: number): boolean {
  return item.expiresAt === undefined || item.expiresAt > now;
}

/** A checked new item (a new sortable id unless one is given). @internal */
export function newItem(content: unknown, options: StoreOptions | undefined, now: number, ids: IdGenerator, defaultTtl?: number): MemoryItem {
  const text = checkContent(content);
  if (options !== undefined && !isPlainObject(options)) throw invalid('store options must be an object');
  const id = options?.id === undefined ? ids(now) : checkId(options.id);
  const metadata = checkMetadata(options?.metadata);
  const ttl = checkTtl(options?.ttl, 'ttl') ?? defaultTtl;
  const item: MemoryItem = { id, content: text, createdAt: now, updatedAt: now };
  if (metadata !== undefined) item.metadata = metadata;
  if (ttl !== undefined) item.expiresAt = now + ttl;
  return item;
}

/** The item after `patch` (a checked patch; `ttl: null` removes the expiry). @internal */
export function patchItem(item: MemoryItem, patch: MemoryPatch, now: number): MemoryItem {
  if (!isPlainObject(patch)) throw invalid('a memory patch must be an object');
  const next: MemoryItem = { ...item, updatedAt: Math.max(now, item.updatedAt) };
  if (patch.content !== undefined) next.content = checkContent(patch.content);
  if (patch.metadata !== undefined) next.metadata = checkMetadata(patch.metadata);
  if (patch.ttl === null) delete next.expiresAt;
  else if (patch.ttl !== undefined) next.expiresAt = now + checkTtl(patch.ttl, 'ttl')!;
  return next;
}

/** The checked limit and minScore of a retrieve. @internal */
export function checkRetrieve(query: unknown, options: RetrieveOptions | undefined): { limit: number; minScore: number } {
  if (typeof query !== 'string') throw invalid(`a query must be a string (got ${typeof query})`);
  if (options !== undefined && !isPlainObject(options)) throw invalid('retrieve options must be an object');
  const limit: unknown = options?.limit ?? 5;
  const minScore: unknown = options?.minScore ?? 0;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) throw invalid(`limit must be a non-negative integer (got ${limit})`);
  if (typeof minScore !== 'number' || Number.isNaN(minScore)) throw invalid(`minScore must be a number (got ${minScore})`);
  return { limit, minScore };
}

/**
 * Throws `INVALID_MEMORY_INPUT` unless `id` is a well-formed string of 1-512 characters (it is the
 * tail of a storage key as it is: the namespace before it is encoded, so an id cannot escape it). @internal
 */
export function checkId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 512 || LONE_SURROGATE.test(id)) {
    throw invalid(`a memory id must be a well-formed string of 1-512 characters (got ${JSON.stringify(id)})`);
  }
  return id;
}

/** The namespace as a storage key segment; `INVALID_MEMORY_INPUT` when unusable or over 256 characters encoded. @internal */
export function checkNamespace(namespace: unknown): string {
  const encoded = typeof namespace === 'string' && !LONE_SURROGATE.test(namespace) ? encodeURIComponent(namespace) : '';
  if (encoded.length === 0 || encoded.length > 256) {
    throw invalid(`a memory namespace must be a well-formed string of 1-256 (URI-encoded) characters (got ${JSON.stringify(namespace)})`);
  }
  return encoded;
}

/** The checked TTL (undefined stays undefined). @internal */
export function checkTtl(ttl: unknown, name: string): number | undefined {
  if (ttl === undefined) return undefined;
  if (typeof ttl !== 'number' || !(ttl > 0) || !Number.isFinite(ttl)) throw invalid(`${name} must be a positive number of ms (got ${ttl})`);
  return ttl;
}

/** The `MEMORY_NOT_FOUND` error. @internal */
export function notFound(id: string): HappenError {
  return new HappenError('runtime', 'MEMORY_NOT_FOUND', `No memory item "${id}" (absent or expired)`, { id });
}

// In a `u` regex a surrogate pair is one code point, so only lone halves match.
const LONE_SURROGATE = /\p{Cs}/u;

function checkContent(content: unknown): string {
  if (typeof content !== 'string') throw invalid(`memory content must be a string (got ${typeof content})`);
  return content;
}

function checkMetadata(metadata: unknown): Record<string, unknown> | undefined {
  if (metadata !== undefined && !isPlainObject(metadata)) throw invalid('memory metadata must be a plain object');
  return metadata as Record<string, unknown> | undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string): HappenError {
  return new HappenError('validation', 'INVALID_MEMORY_INPUT', message);
}
