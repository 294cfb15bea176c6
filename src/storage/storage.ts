import { HappenError } from '../core/errors.ts';
import type { NodeStore } from '../core/extension.ts';
import { bytesOver } from './json-size.ts';

export { bytesOver, jsonBytes } from './json-size.ts';

/**
 * The one interface every persistence backend implements. Keys are strings ordered by their
 * code units (keep them ASCII and every backend orders them the same); values are anything
 * structured-cloneable. Every method may reject with a `HappenError` from {@link storageError}.
 * A storage is also a node's `storage` option (`bindNode`, see `bindNodeToStorage`).
 */
export interface Storage extends NodeStore {
  /** The adapter's name (`memory`, `indexeddb`, `durable-object`, `deno-kv`). */
  readonly kind: string;
  /** The largest value (in bytes of its JSON form) the backend stores; larger writes fail with `VALUE_TOO_LARGE`. */
  readonly maxValueBytes: number;
  /** The value under `key`, or `undefined`. */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** Stores `value` under `key`. */
  put(key: string, value: unknown): Promise<void>;
  /** Deletes `key`; resolves to whether it existed. */
  delete(key: string): Promise<boolean>;
  /** Entries whose key starts with `prefix`, in key order (or reversed), within `[start, end)`, at most `limit`. */
  list<T = unknown>(options: ListOptions): Promise<Array<[string, T]>>;
  /**
   * Applies every operation atomically, and only if every check holds (the stored value equals
   * `value`, `undefined` meaning absent); otherwise nothing is written and it rejects with `CONFLICT`.
   */
  batch(ops: readonly BatchOp[], checks?: readonly BatchCheck[]): Promise<void>;
  /** Releases the backend (closes a database handle); later calls fail with `STORAGE_UNAVAILABLE`. */
  close(): Promise<void>;
}

/** What `Storage.list` returns. */
export interface ListOptions {
  prefix: string;
  /** First key included (default: the prefix itself). */
  start?: string;
  /** First key excluded (default: past every key with the prefix). */
  end?: string;
  /** Newest-first: descending key order. */
  reverse?: boolean;
  limit?: number;
}

/** One write of an atomic batch. */
export type BatchOp =
  | {
      type: 'put';
      key: string;
      value: unknown;
      /** The caller already checked the value against `maxValueBytes` (the event log does): skip measuring it again. */
      sized?: boolean;
    }
  | { type: 'delete'; key: string };

/** A condition an atomic batch requires: the value stored under `key` equals `value` (`undefined`: absent). */
export interface BatchCheck {
  key: string;
  value: unknown;
}

/** Codes of the errors storage raises. */
export type StorageErrorCode =
  | 'STORAGE_UNAVAILABLE'
  | 'STORAGE_FULL'
  | 'STORAGE_FAILED'
  | 'VALUE_TOO_LARGE'
  | 'INVALID_KEY'
  | 'INVALID_VALUE'
  | 'CONFLICT';

const VALIDATION_CODES = new Set<StorageErrorCode>(['VALUE_TOO_LARGE', 'INVALID_KEY', 'INVALID_VALUE']);

/** A typed storage error (category `runtime`, or `validation` for bad keys and values). */
export function storageError(code: StorageErrorCode, message: string, details?: Record<string, unknown>): HappenError {
  const category = VALIDATION_CODES.has(code) ? 'validation' : 'runtime';
  return new HappenError(category, code, message, details);
}

/** The exclusive upper bound of every key that starts with `prefix`. */
export function prefixEnd(prefix: string): string {
  return prefix + '\uffff';
}

/** The `[start, end)` range a list call covers. */
export function listRange(options: ListOptions): { start: string; end: string } {
  const start = options.start !== undefined && options.start > options.prefix ? options.start : options.prefix;
  const last = prefixEnd(options.prefix);
  const end = options.end !== undefined && options.end < last ? options.end : last;
  return { start, end };
}

// Lone surrogates would encode differently (or not at all) in UTF-8-keyed backends.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Throws `INVALID_KEY` unless `key` is a non-empty string without lone surrogates, at most 1,024 chars. */
export function assertKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024 || LONE_SURROGATE.test(key)) {
    throw storageError('INVALID_KEY', `A storage key must be a well-formed string of 1-1024 characters (got ${JSON.stringify(key)})`);
  }
}

/** Throws `INVALID_VALUE` for `undefined` (delete instead), `VALUE_TOO_LARGE` when a value exceeds `max` bytes. */
export function assertValue(value: unknown, max: number, key: string): void {
  if (value === undefined) throw storageError('INVALID_VALUE', `Cannot store undefined under "${key}": delete the key instead`);
  if (max === Infinity) return;
  const size = bytesOver(value, max);
  if (size !== undefined) throw storageError('VALUE_TOO_LARGE', `The value for "${key}" is ${size} bytes; this storage takes at most ${max}`, { key, size, max });
}

/** True when two stored values are equal (compared by their JSON form; what batch checks use). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
