/** `happen/storage/deno-kv`: the {@link Storage} adapter over Deno KV (run Deno with `--unstable-kv`). */
import { HappenError } from '../core/errors.ts';
import type { NodeBinding, NodeStoreConfig } from '../core/extension.ts';
import type { HappenNode } from '../core/node.ts';
import { bindNodeToStorage } from './node-binding.ts';
import { assertKey, assertValue, listRange, prefixEnd, sameValue, storageError, type BatchCheck, type BatchOp, type ListOptions, type Storage } from './storage.ts';

/** A Deno KV key (`Deno.KvKey`); this adapter only writes `['happen', string]`. */
export type DenoKvKey = readonly (string | number | bigint | boolean | symbol | Uint8Array)[];

/** What a `Deno.Kv` read returns (`versionstamp` is `null` when the key is absent). */
export interface DenoKvEntry {
  key: DenoKvKey;
  value: unknown;
  versionstamp: string | null;
}

/** The part of `Deno.AtomicOperation` this adapter uses. */
export interface DenoKvAtomicLike {
  check(...checks: Array<{ key: DenoKvKey; versionstamp: string | null }>): DenoKvAtomicLike;
  set(key: DenoKvKey, value: unknown): DenoKvAtomicLike;
  delete(key: DenoKvKey): DenoKvAtomicLike;
  commit(): Promise<{ ok: boolean }>;
}

/** The part of `Deno.Kv` this adapter uses (structural, since the library is compiled without Deno's types). */
export interface DenoKvLike {
  get(key: DenoKvKey): Promise<DenoKvEntry>;
  set(key: DenoKvKey, value: unknown): Promise<unknown>;
  list(selector: { start: DenoKvKey; end: DenoKvKey }, options?: { reverse?: boolean; limit?: number }): AsyncIterable<DenoKvEntry>;
  atomic(): DenoKvAtomicLike;
  close(): void;
}

/** Options of {@link denoKvStorage} and {@link openDenoKvStorage}. */
export interface DenoKvStorageOptions {
  /** Namespaces every key, so several stores can share one KV database (default `''`). */
  prefix?: string;
  /** Largest value in bytes of its JSON form (default 64,512: Deno KV's 64 KiB serialized limit minus headroom). */
  maxValueBytes?: number;
}

// Deno KV's own limits (Deno 2.9, measured): 1,000 mutations and 100 checks per atomic operation,
// 800 KiB of keys and values per commit, 64 KiB per serialized value, 2 KiB per key.
const MAX_MUTATIONS = 1000;
const MAX_CHECKS = 100;
const MAX_VALUE_BYTES = 64 * 1024 - 1024; // KV counts V8-serialized bytes, the check counts JSON: keep headroom
const ROOT = 'happen';
// KV orders string key parts by UTF-8 bytes: the same as code-unit order for ASCII, but a key with a
// character above U+FFFF sorts past prefixEnd()'s '\uffff'. The highest code point bounds them all.
const PAST_PREFIX = '\u{10FFFF}';

/** Storage on an opened `Deno.Kv` (which the caller keeps and closes); every key lives under `['happen', prefix + key]`. */
export function denoKvStorage(kv: DenoKvLike, options: DenoKvStorageOptions = {}): Storage {
  return new DenoKvStorage(kv, options.prefix ?? '', options.maxValueBytes ?? MAX_VALUE_BYTES, false);
}

/** Opens `Deno.openKv(path)` (needs `--unstable-kv`) and returns storage that closes the database on `close()`. */
export async function openDenoKvStorage(path?: string, options: DenoKvStorageOptions = {}): Promise<Storage> {
  const deno = (globalThis as { Deno?: { openKv?: (path?: string) => Promise<DenoKvLike> } }).Deno;
  if (typeof deno?.openKv !== 'function') {
    throw storageError('STORAGE_UNAVAILABLE', 'Deno KV is unavailable: run under Deno with --unstable-kv (Deno.openKv is missing)');
  }
  let kv: DenoKvLike;
  try {
    kv = await deno.openKv(path);
  } catch (error) {
    throw storageError('STORAGE_UNAVAILABLE', `Deno KV could not open ${path ?? 'the default database'}: ${messageOf(error)}`, { path });
  }
  return new DenoKvStorage(kv, options.prefix ?? '', options.maxValueBytes ?? MAX_VALUE_BYTES, true);
}

class DenoKvStorage implements Storage {
  readonly kind = 'deno-kv';
  #closed = false;

  constructor(
    private readonly kv: DenoKvLike,
    private readonly prefix: string,
    readonly maxValueBytes: number,
    private readonly owned: boolean,
  ) {}

  async get<T>(key: string): Promise<T | undefined> {
    this.open();
    assertKey(key);
    const entry = await this.call(() => this.kv.get(this.key(key)));
    return entry.versionstamp === null ? undefined : (entry.value as T);
  }

  async put(key: string, value: unknown): Promise<void> {
    this.open();
    assertKey(key);
    assertValue(value, this.maxValueBytes, key);
    await this.call(() => this.kv.set(this.key(key), value));
  }

  async delete(key: string): Promise<boolean> {
    this.open();
    assertKey(key);
    // Delete only the version just read, so "it existed" stays true under concurrent writers.
    for (;;) {
      const entry = await this.call(() => this.kv.get(this.key(key)));
      if (entry.versionstamp === null) return false;
      const result = await this.call(() => this.kv.atomic().check(entry).delete(entry.key).commit());
      if (result.ok) return true;
    }
  }

  async list<T>(options: ListOptions): Promise<Array<[string, T]>> {
    this.open();
    const { start, end } = listRange(options);
    const last = end === prefixEnd(options.prefix) ? this.prefix + options.prefix + PAST_PREFIX : this.prefix + end;
    const selector = { start: [ROOT, this.prefix + start], end: [ROOT, last] };
    return this.call(async () => {
      const out: Array<[string, T]> = [];
      for await (const entry of this.kv.list(selector, { reverse: options.reverse ?? false, limit: options.limit })) {
        out.push([(entry.key[1] as string).slice(this.prefix.length), entry.value as T]);
      }
      return out;
    });
  }

  async batch(ops: readonly BatchOp[], checks: readonly BatchCheck[] = []): Promise<void> {
    this.open();
    // Validate everything first, so a bad op leaves nothing half-written.
    for (const op of ops) {
      assertKey(op.key);
      if (op.type === 'put') assertValue(op.value, op.sized ? Infinity : this.maxValueBytes, op.key);
    }
    for (const check of checks) assertKey(check.key);
    if (checks.length === 0) {
      // Without checks nothing depends on all-or-nothing across KV's per-commit limit: commit in chunks.
      // (A KV failure in a later chunk leaves the earlier ones written; keys and values are validated first.)
      for (let i = 0; i < ops.length; i += MAX_MUTATIONS) await this.commit(ops.slice(i, i + MAX_MUTATIONS), []);
      return;
    }
    if (ops.length > MAX_MUTATIONS || checks.length > MAX_CHECKS) {
      throw storageError('VALUE_TOO_LARGE', `A checked batch must fit one Deno KV atomic operation: at most ${MAX_MUTATIONS} operations and ${MAX_CHECKS} checks (got ${ops.length} and ${checks.length})`, { ops: ops.length, checks: checks.length });
    }
    // Compare values here (KV checks only versionstamps), then check those versionstamps at commit
    // so a change between this read and the commit also fails.
    const entries = await Promise.all(checks.map((check) => this.call(() => this.kv.get(this.key(check.key)))));
    const stamps = entries.map((entry, i) => {
      if (!sameValue(entry.versionstamp === null ? undefined : entry.value, checks[i]!.value)) throw conflict(checks[i]!.key);
      return { key: entry.key, versionstamp: entry.versionstamp };
    });
    if (!(await this.commit(ops, stamps))) throw conflict(checks.map((check) => check.key).join('", "'));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.owned) return;
    try {
      this.kv.close();
    } catch {
      // Already closed by someone else: the handle is gone either way.
    }
  }

  /** Lets this storage be a node's `storage`: state restore and save, persisted events. */
  bindNode(node: HappenNode, config: NodeStoreConfig): NodeBinding {
    return bindNodeToStorage(this, node, config);
  }

  // One atomic commit (false: a check failed). A check-free chunk over KV's total-size limit is split
  // in halves: nothing was written, and each half fits sooner or later (a single value is at most 64 KiB).
  private async commit(ops: readonly BatchOp[], checks: Array<{ key: DenoKvKey; versionstamp: string | null }>): Promise<boolean> {
    const atomic = this.kv.atomic();
    if (checks.length > 0) atomic.check(...checks);
    for (const op of ops) {
      if (op.type === 'put') atomic.set(this.key(op.key), op.value);
      else atomic.delete(this.key(op.key));
    }
    try {
      return (await atomic.commit()).ok;
    } catch (error) {
      if (checks.length > 0 || ops.length < 2 || !/total mutation size/i.test(messageOf(error))) throw failure(error);
      const half = ops.length >>> 1;
      return (await this.commit(ops.slice(0, half), [])) && this.commit(ops.slice(half), []);
    }
  }

  private key(key: string): DenoKvKey {
    return [ROOT, this.prefix + key];
  }

  private open(): void {
    if (this.#closed) throw storageError('STORAGE_UNAVAILABLE', 'This Deno KV storage was closed');
  }

  // Runs one KV call, turning whatever it throws into a typed storage error.
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw failure(error);
    }
  }
}

// What KV threw, as a typed storage error.
function failure(error: unknown): HappenError {
  if (error instanceof HappenError) return error;
  const message = messageOf(error);
  // KV's serialized size can exceed the JSON size checked up front (two-byte strings, doubles).
  if (/value too large|mutation size too large|too many/i.test(message)) return storageError('VALUE_TOO_LARGE', `Deno KV refused the write: ${message}`);
  if ((error as Error | undefined)?.name === 'DataCloneError' || /could not be cloned/i.test(message)) {
    return storageError('INVALID_VALUE', `Deno KV cannot store this value: ${message}`);
  }
  if (/key too large/i.test(message)) return storageError('INVALID_KEY', `Deno KV refused the key: ${message}`);
  if ((error as Error | undefined)?.name === 'BadResource') return storageError('STORAGE_UNAVAILABLE', `The Deno KV database was closed: ${message}`);
  return storageError('STORAGE_FAILED', `Deno KV failed: ${message}`);
}

function conflict(key: string): HappenError {
  return storageError('CONFLICT', `Conflict: "${key}" changed since it was read`, { key });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
