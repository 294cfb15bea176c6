/** `happen/storage/memory`: the in-memory {@link Storage} adapter (every runtime). */
import type { NodeBinding, NodeStoreConfig } from '../core/extension.ts';
import type { HappenNode } from '../core/node.ts';
import { bindNodeToStorage } from './node-binding.ts';
import { assertKey, assertValue, jsonBytes, listRange, sameValue, storageError, type BatchCheck, type BatchOp, type ListOptions, type Storage } from './storage.ts';

/** Options of {@link memoryStorage}. */
export interface MemoryStorageOptions {
  /** Total bytes (JSON form) it may hold; a write past it fails with `STORAGE_FULL` (default unbounded). */
  maxBytes?: number;
  /** Largest single value in bytes (default 1 MiB). */
  maxValueBytes?: number;
}

/**
 * Storage in memory: for tests, the default system and short-lived processes. Values are copied
 * with `structuredClone` on the way in and out, so it behaves like a real backend (no aliasing).
 */
export function memoryStorage(options: MemoryStorageOptions = {}): Storage {
  return new MemoryStorage(options.maxBytes ?? Infinity, options.maxValueBytes ?? 1024 * 1024);
}

class MemoryStorage implements Storage {
  readonly kind = 'memory';
  #values = new Map<string, { value: unknown; bytes: number }>();
  #keys: string[] = []; // sorted, so list() is a binary search plus a slice
  #bytes = 0;
  #closed = false;

  constructor(
    private readonly maxBytes: number,
    readonly maxValueBytes: number,
  ) {}

  async get<T>(key: string): Promise<T | undefined> {
    this.open();
    assertKey(key);
    const entry = this.#values.get(key);
    return entry === undefined ? undefined : (structuredClone(entry.value) as T);
  }

  async put(key: string, value: unknown): Promise<void> {
    await this.batch([{ type: 'put', key, value }]);
  }

  async delete(key: string): Promise<boolean> {
    this.open();
    assertKey(key);
    const existed = this.#values.has(key);
    if (existed) this.remove(key);
    return existed;
  }

  async list<T>(options: ListOptions): Promise<Array<[string, T]>> {
    this.open();
    const { start, end } = listRange(options);
    const from = lowerBound(this.#keys, start);
    const to = lowerBound(this.#keys, end);
    const limit = options.limit ?? Infinity;
    const out: Array<[string, T]> = [];
    if (options.reverse) {
      for (let i = to - 1; i >= from && out.length < limit; i--) out.push(this.entry<T>(this.#keys[i]!));
    } else {
      for (let i = from; i < to && out.length < limit; i++) out.push(this.entry<T>(this.#keys[i]!));
    }
    return out;
  }

  async batch(ops: readonly BatchOp[], checks: readonly BatchCheck[] = []): Promise<void> {
    this.open();
    // Validate and copy everything first, so a bad op leaves nothing half-written.
    const prepared = ops.map((op) => {
      assertKey(op.key);
      if (op.type === 'delete') return { key: op.key, entry: undefined };
      assertValue(op.value, this.maxValueBytes, op.key);
      return { key: op.key, entry: { value: cloneForStorage(op.value, op.key), bytes: jsonBytes(op.value) } };
    });
    for (const check of checks) {
      if (!sameValue(this.#values.get(check.key)?.value, check.value)) {
        throw storageError('CONFLICT', `Conflict: "${check.key}" changed since it was read`, { key: check.key });
      }
    }
    let bytes = this.#bytes;
    for (const { key, entry } of prepared) bytes += (entry?.bytes ?? 0) - (this.#values.get(key)?.bytes ?? 0);
    if (bytes > this.maxBytes) {
      throw storageError('STORAGE_FULL', `Memory storage is full: the write needs ${bytes} of ${this.maxBytes} bytes`, { bytes, maxBytes: this.maxBytes });
    }
    for (const { key, entry } of prepared) {
      if (entry === undefined) {
        if (this.#values.has(key)) this.remove(key);
        continue;
      }
      const previous = this.#values.get(key);
      if (previous === undefined) this.#keys.splice(lowerBound(this.#keys, key), 0, key);
      this.#bytes += entry.bytes - (previous?.bytes ?? 0);
      this.#values.set(key, entry);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Lets this storage be a node's `storage`: state restore and save, persisted events. */
  bindNode(node: HappenNode, config: NodeStoreConfig): NodeBinding {
    return bindNodeToStorage(this, node, config);
  }

  private entry<T>(key: string): [string, T] {
    return [key, structuredClone(this.#values.get(key)!.value) as T];
  }

  private remove(key: string): void {
    this.#bytes -= this.#values.get(key)!.bytes;
    this.#values.delete(key);
    this.#keys.splice(lowerBound(this.#keys, key), 1);
  }

  private open(): void {
    if (this.#closed) throw storageError('STORAGE_UNAVAILABLE', 'This memory storage was closed');
  }
}

// What a real backend would store; a value it could not store (a function, say) is a typed error.
function cloneForStorage(value: unknown, key: string): unknown {
  try {
    return structuredClone(value);
  } catch (error) {
    throw storageError('INVALID_VALUE', `The value for "${key}" cannot be stored: ${(error as Error).message}`, { key });
  }
}

// Index of the first key >= `key` in a sorted array.
function lowerBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
