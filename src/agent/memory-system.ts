/** The memory contract agents use: one interface, a key-value and a vector implementation. */

/** One remembered item. */
export interface MemoryItem {
  id: string;
  content: string;
  metadata?: Record<string, unknown>;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
  /** When the item expires (ms since the epoch); absent = never. */
  expiresAt?: number;
}

/** A retrieved item and how well it matched the query (higher is better; 1 = exact). */
export interface MemoryHit extends MemoryItem {
  score: number;
}

/** Options of {@link MemorySystem.store}. */
export interface StoreOptions {
  /** The item's id (default: a new sortable id). Storing an existing id replaces it. */
  id?: string;
  metadata?: Record<string, unknown>;
  /** Forget the item after this many milliseconds. */
  ttl?: number;
}

/** Options of {@link MemorySystem.retrieve}. */
export interface RetrieveOptions {
  /** At most this many hits (default 5). */
  limit?: number;
  /** Drop hits scoring below this (default 0: any match). */
  minScore?: number;
}

/** A change to a stored item. */
export interface MemoryPatch {
  content?: string;
  /** Replaces the metadata. */
  metadata?: Record<string, unknown>;
  /** A new time-to-live from now, in ms; `null` removes the expiry. */
  ttl?: number | null;
}

/** Where an agent keeps what it learns. */
export interface MemorySystem {
  store(content: string, options?: StoreOptions): Promise<MemoryItem>;
  /** The best matches for `query`, best first; expired items never appear. */
  retrieve(query: string, options?: RetrieveOptions): Promise<MemoryHit[]>;
  /** One item by id, or `undefined` when absent or expired. */
  get(id: string): Promise<MemoryItem | undefined>;
  /** Rejects with `MEMORY_NOT_FOUND` when the id is absent or expired. */
  update(id: string, patch: MemoryPatch): Promise<MemoryItem>;
  /** Resolves to whether a live item was removed. */
  forget(id: string): Promise<boolean>;
}

/** Turns texts into vectors for a vector memory. */
export interface Embedder {
  /** For logs, e.g. `'lexical'` or `'openai:text-embedding-3-small'`. */
  readonly name: string;
  /** One vector per text, in order; every vector has the same length. */
  embed(texts: string[]): Promise<number[][]>;
}
