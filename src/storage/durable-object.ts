/** `happen/storage/durable-object`: the {@link Storage} adapter over a Durable Object's `ctx.storage`. */
import { HappenError } from '../core/errors.ts';
import type { NodeBinding, NodeStoreConfig } from '../core/extension.ts';
import type { HappenNode } from '../core/node.ts';
import { bindNodeToStorage } from './node-binding.ts';
import { assertKey, assertValue, listRange, prefixEnd, sameValue, storageError, type BatchCheck, type BatchOp, type ListOptions, type Storage } from './storage.ts';

/** The list options of Durable Object storage this adapter passes (`start` inclusive, `end` exclusive). */
export interface DurableObjectListOptionsLike {
  prefix?: string;
  start?: string;
  end?: string;
  reverse?: boolean;
  limit?: number;
}

/** The part of a transaction handle (`storage.transaction(async (txn) => ...)`) this adapter calls. */
export interface DurableObjectTransactionLike {
  get(key: string): Promise<unknown>;
  put(entries: Record<string, unknown>): Promise<void>;
  delete(keys: string[]): Promise<number>;
}

/** The part of a Durable Object's `ctx.storage` this adapter calls; structural, so no `@cloudflare/workers-types` is needed. */
export interface DurableObjectStorageLike {
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<boolean>;
  list(options: DurableObjectListOptionsLike): Promise<Map<string, unknown>>;
  transaction<T>(closure: (txn: DurableObjectTransactionLike) => Promise<T>): Promise<T>;
}

/** Options of {@link durableObjectStorage}. */
export interface DurableObjectStorageOptions {
  /** Prepended to every key, so several stores share one object without seeing each other's keys. */
  prefix?: string;
  /**
   * Largest single value in bytes of its JSON form. Default 128 KiB, the limit of KV-backed objects;
   * SQLite-backed objects take values up to 2 MB, so they may raise it (workerd's V8 encoding can
   * be up to twice the JSON size for non-Latin-1 text: leave headroom).
   */
  maxValueBytes?: number;
}

// Cloudflare refuses more than 128 keys per put/delete call and keys over 2 KiB (UTF-8).
const MAX_KEYS_PER_CALL = 128;
const MAX_KEY_BYTES = 2048;
const encoder = new TextEncoder();

/**
 * Storage in a Durable Object (`ctx.storage`): strongly consistent and local to the object, so a
 * batch is one storage transaction and concurrent batches in the object serialise.
 */
export function durableObjectStorage(storage: DurableObjectStorageLike, options: DurableObjectStorageOptions = {}): Storage {
  return new DurableObjectStorageAdapter(storage, options.prefix ?? '', options.maxValueBytes ?? 128 * 1024);
}

class DurableObjectStorageAdapter implements Storage {
  /** Lets this storage be a node's `storage`: state restore and save, persisted events. */
  bindNode(node: HappenNode, config: NodeStoreConfig): NodeBinding {
    return bindNodeToStorage(this, node, config);
  }

  readonly kind = 'durable-object';
  #closed = false;

  constructor(
    private readonly storage: DurableObjectStorageLike,
    private readonly prefix: string,
    readonly maxValueBytes: number,
  ) {}

  async get<T>(key: string): Promise<T | undefined> {
    const full = this.key(key);
    return this.run(() => this.storage.get(full) as Promise<T | undefined>);
  }

  async put(key: string, value: unknown): Promise<void> {
    const full = this.key(key);
    assertValue(value, this.maxValueBytes, key);
    await this.run(() => this.storage.put(full, value));
  }

  async delete(key: string): Promise<boolean> {
    const full = this.key(key);
    return this.run(() => this.storage.delete(full));
  }

  async list<T>(options: ListOptions): Promise<Array<[string, T]>> {
    this.open();
    const limit = options.limit ?? Infinity;
    if (!(limit > 0)) return [];
    const { start, end } = listRange(options);
    const query: DurableObjectListOptionsLike = { prefix: this.prefix + options.prefix, start: this.prefix + start, reverse: options.reverse === true };
    // Past the prefix the `prefix` option bounds the range: an end of `prefix + '\uffff'` would
    // drop keys with astral characters, which sort after U+FFFF in the object's UTF-8 order.
    if (end !== prefixEnd(options.prefix)) query.end = this.prefix + end;
    if (limit !== Infinity) query.limit = Math.ceil(limit);
    const entries = await this.run(() => this.storage.list(query));
    return Array.from(entries, ([key, value]): [string, T] => [key.slice(this.prefix.length), value as T]);
  }

  async batch(ops: readonly BatchOp[], checks: readonly BatchCheck[] = []): Promise<void> {
    this.open();
    // Only the last write to a key counts, so grouping puts and deletes keeps the batch's meaning.
    const writes = new Map<string, unknown>();
    for (const op of ops) {
      const full = this.key(op.key);
      if (op.type === 'put') assertValue(op.value, op.sized ? Infinity : this.maxValueBytes, op.key);
      writes.set(full, op.type === 'put' ? op.value : undefined);
    }
    const checked = checks.map((check) => ({ full: this.key(check.key), check }));
    if (writes.size === 0 && checked.length === 0) return;
    // put() records of at most 128 keys and the deleted keys, built in one pass: this runs for every
    // event a log appends, where copying, filtering and re-slicing the entries cost more than the
    // writes' own CPU. Null-prototype records keep `__proto__` an ordinary key, and V8 builds them
    // as dictionaries from the start instead of migrating a shape per key.
    const puts: Array<Record<string, unknown>> = [];
    const deletes: string[] = [];
    let record: Record<string, unknown> | undefined;
    let size = 0;
    for (const [key, value] of writes) {
      if (value === undefined) {
        deletes.push(key);
        continue;
      }
      if (record === undefined || size === MAX_KEYS_PER_CALL) {
        puts.push((record = Object.create(null) as Record<string, unknown>));
        size = 0;
      }
      record[key] = value;
      size++;
    }
    await this.run(() =>
      this.storage.transaction(async (txn) => {
        for (const { full, check } of checked) {
          // Throwing inside the closure rolls the transaction back: nothing is written.
          if (!sameValue(await txn.get(full), check.value)) {
            throw storageError('CONFLICT', `Conflict: "${check.key}" changed since it was read`, { key: check.key });
          }
        }
        for (const entries of puts) await txn.put(entries);
        for (let i = 0; i < deletes.length; i += MAX_KEYS_PER_CALL) await txn.delete(deletes.slice(i, i + MAX_KEYS_PER_CALL));
      }),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  // Validates before any storage call, so a bad key never reaches (or half-writes) the object.
  private key(key: string): string {
    this.open();
    assertKey(key);
    const full = this.prefix + key;
    if (full.length * 3 > MAX_KEY_BYTES && encoder.encode(full).length > MAX_KEY_BYTES) {
      throw storageError('INVALID_KEY', `The key "${key}" with its prefix exceeds ${MAX_KEY_BYTES} bytes, the Durable Object key limit`);
    }
    return full;
  }

  private open(): void {
    if (this.#closed) throw storageError('STORAGE_UNAVAILABLE', 'This Durable Object storage adapter was closed');
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toStorageError(error);
    }
  }
}

/**
 * Maps what workerd throws to a typed error. Cloudflare's KV backend throws `RangeError: Values cannot
 * be larger than 131072 bytes`; SQLite-backed objects (and local workerd) `SQLITE_TOOBIG` over ~2 MB
 * and `SQLITE_FULL` at the database size limit.
 */
function toStorageError(error: unknown): HappenError {
  if (error instanceof HappenError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as Error | undefined)?.name === 'DataCloneError' || /could not be cloned/i.test(message)
    ? 'INVALID_VALUE'
    : /SQLITE_TOOBIG|too big|values? cannot be larger|value for key .* above the limit/i.test(message)
    ? 'VALUE_TOO_LARGE'
    : /SQLITE_FULL|disk is full|quota|exceeded .*(size|storage)/i.test(message)
      ? 'STORAGE_FULL'
      : 'STORAGE_FAILED';
  return storageError(code, `Durable Object storage failed: ${message}`, { cause: message });
}
