/** `happen/storage/indexeddb`: the {@link Storage} adapter for browsers (pages, workers, service workers). */
import { openDB, unwrap, type IDBPDatabase, type IDBPTransaction } from 'idb';
import { HappenError } from '../core/errors.ts';
import type { NodeBinding, NodeStoreConfig } from '../core/extension.ts';
import type { HappenNode } from '../core/node.ts';
import { bindNodeToStorage } from './node-binding.ts';
import { assertKey, assertValue, listRange, sameValue, storageError, type BatchCheck, type BatchOp, type ListOptions, type Storage, type StorageErrorCode } from './storage.ts';

const STORE = 'entries';
const MiB = 1024 * 1024;

/** Options of {@link indexedDbStorage}. */
export interface IndexedDbStorageOptions {
  /** Largest single value in bytes of its JSON form (default 8 MiB, at most 64 MiB). */
  maxValueBytes?: number;
}

/**
 * Storage in the IndexedDB database `name` (one object store, string keys). The database opens on
 * the first call and the connection is reused. Where IndexedDB is missing or refused (opaque origins,
 * some private windows) every call rejects with `STORAGE_UNAVAILABLE`; a full disk or origin quota
 * rejects with `STORAGE_FULL`.
 */
export function indexedDbStorage(name: string, options: IndexedDbStorageOptions = {}): Storage {
  const max = options.maxValueBytes ?? 8 * MiB;
  if (!(max > 0 && max <= 64 * MiB)) {
    throw new HappenError('validation', 'INVALID_CONFIG', `maxValueBytes must be between 1 and ${64 * MiB} (got ${max})`);
  }
  return new IndexedDbStorage(name, max);
}

// Typed as readwrite for both modes: a readonly body simply never writes.
type Tx = IDBPTransaction<unknown, [typeof STORE], 'readwrite'>;

class IndexedDbStorage implements Storage {
  readonly kind = 'indexeddb';
  #db: Promise<IDBPDatabase> | undefined;
  #closed = false;

  constructor(
    private readonly name: string,
    readonly maxValueBytes: number,
  ) {}

  async get<T>(key: string): Promise<T | undefined> {
    this.live();
    assertKey(key);
    return this.run('readonly', (store) => store.get(key) as Promise<T | undefined>);
  }

  async put(key: string, value: unknown): Promise<void> {
    await this.batch([{ type: 'put', key, value }]);
  }

  async delete(key: string): Promise<boolean> {
    this.live();
    assertKey(key);
    return this.run('readwrite', async (store) => {
      const existed = (await store.getKey(key)) !== undefined;
      if (existed) await store.delete(key);
      return existed;
    });
  }

  async list<T>(options: ListOptions): Promise<Array<[string, T]>> {
    this.live();
    const { start, end } = listRange(options);
    const limit = options.limit ?? Infinity;
    return this.run('readonly', async (store) => {
      // An empty range is not a valid IDBKeyRange (checked inside run() so an unusable store still rejects).
      if (!(limit > 0) || start >= end) return [];
      const range = IDBKeyRange.bound(start, end, false, true);
      if (options.reverse) {
        const out: Array<[string, T]> = [];
        for (let c = await store.openCursor(range, 'prev'); c && out.length < limit; c = await c.continue()) out.push([c.key as string, c.value as T]);
        return out;
      }
      // getAll's count is an unsigned long: a fractional limit rounds up (as memory's `<` does), a huge one means all.
      const count = limit < 2 ** 32 - 1 ? Math.ceil(limit) : undefined;
      const [keys, values] = await Promise.all([store.getAllKeys(range, count), store.getAll(range, count)]);
      return keys.map((key, i): [string, T] => [key as string, values[i] as T]);
    });
  }

  async batch(ops: readonly BatchOp[], checks: readonly BatchCheck[] = []): Promise<void> {
    this.live();
    // Validate everything first, so a bad op fails before a transaction exists.
    for (const op of ops) {
      assertKey(op.key);
      if (op.type === 'put') assertValue(op.value, op.sized ? Infinity : this.maxValueBytes, op.key);
    }
    // One readwrite transaction reads the checks and writes the ops: IndexedDB serialises readwrite
    // transactions on a store, so no other writer can slip in between the check and the write.
    await this.run('readwrite', async (store, tx) => {
      // The writes are queued right behind the check reads, without waiting for them: a transaction
      // runs its requests in order, so the reads see the state before the writes, and a failed check
      // aborts before anything commits (waiting first cost a round trip to the database per batch).
      const current = Promise.all(checks.map((check) => store.get(check.key)));
      current.catch(() => {}); // rejects only when the transaction aborts, which run() reports
      // Plain requests, not idb's promise per request (two promises per write, a visible share of a
      // log append): a failing request aborts the transaction, and run() awaits its outcome.
      const raw = unwrap(store);
      try {
        for (const op of ops) {
          if (op.type === 'put') raw.put(op.value, op.key);
          else raw.delete(op.key);
        }
      } catch (error) {
        tx.abort(); // e.g. DataCloneError, thrown synchronously: the ops already queued must not commit
        throw error;
      }
      const values = await current;
      const failed = checks.find((check, i) => !sameValue(values[i], check.value));
      if (failed) {
        tx.abort();
        throw storageError('CONFLICT', `Conflict: "${failed.key}" changed since it was read`, { key: failed.key });
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const db = this.#db;
    this.#db = undefined;
    (await db?.catch(() => undefined))?.close();
  }

  /** Lets this storage be a node's `storage`: state restore and save, persisted events. */
  bindNode(node: HappenNode, config: NodeStoreConfig): NodeBinding {
    return bindNodeToStorage(this, node, config);
  }

  // Checked first, as memory does: a closed store reports that before any validation error.
  private live(): void {
    if (this.#closed) throw storageError('STORAGE_UNAVAILABLE', `IndexedDB storage "${this.name}" was closed`);
  }

  /** Runs `body` in one transaction and resolves once that transaction has committed. */
  private async run<R>(mode: IDBTransactionMode, body: (store: Tx['store'], tx: Tx) => Promise<R>): Promise<R> {
    const db = await this.open();
    let tx: Tx | undefined;
    let done: Promise<void> | undefined;
    try {
      tx = db.transaction(STORE, mode) as Tx;
      done = tx.done;
      done.catch(() => {}); // idb creates it eagerly: an aborted transaction would otherwise be an unhandled rejection
      const result = await body(tx.store, tx);
      await done;
      return result;
    } catch (error) {
      if (error instanceof HappenError) throw error;
      await done?.catch(() => {}); // let an abort finish, so the transaction's own error is known
      // A quota failure can surface as an AbortError on a request while the transaction holds the real cause.
      throw this.failure(tx?.error?.name === 'QuotaExceededError' ? tx.error : error);
    }
  }

  private async open(): Promise<IDBPDatabase> {
    this.live(); // again: close() may have run while this call waited
    if (typeof indexedDB === 'undefined' || indexedDB === null) {
      throw storageError('STORAGE_UNAVAILABLE', `IndexedDB is not available here, so storage "${this.name}" cannot open`);
    }
    if (this.#db) return this.#db;
    // Version 1 only ever creates the store, so opening never waits on (is never `blocked` by) other connections.
    // `then` turns a synchronous throw of indexedDB.open (SecurityError in an opaque origin) into a rejection.
    const opening: Promise<IDBPDatabase> = Promise.resolve()
      .then(() => openDB(this.name, 1, {
        upgrade: (db) => void db.createObjectStore(STORE),
        // Another tab deletes or upgrades the database: step aside instead of blocking it; the next call reopens.
        blocking: () => this.drop(opening),
        terminated: () => this.drop(opening),
      }))
      .catch((error: unknown) => {
        this.drop(opening); // a later call may succeed (e.g. once the user allows storage)
        const e = error as { name?: string; message?: string } | undefined;
        throw storageError('STORAGE_UNAVAILABLE', `Cannot open IndexedDB database "${this.name}": ${e?.message ?? String(error)}`, { cause: e?.name });
      });
    return (this.#db = opening);
  }

  // Closes a connection (transactions in flight still finish); the next call opens a new one.
  private drop(connection: Promise<IDBPDatabase>): void {
    if (this.#db === connection) this.#db = undefined;
    connection.then((db) => db.close(), () => {});
  }

  private failure(error: unknown): HappenError {
    const e = error as { name?: string; message?: string } | undefined;
    const code: StorageErrorCode =
      e?.name === 'QuotaExceededError' ? 'STORAGE_FULL'
      : e?.name === 'InvalidStateError' ? 'STORAGE_UNAVAILABLE' // the connection closed under the call
      : e?.name === 'DataCloneError' ? 'INVALID_VALUE'
      : 'STORAGE_FAILED';
    // Chromium's quota abort carries an empty message, so the name is always part of ours.
    const why = e?.name ? `${e.name}${e.message ? `: ${e.message}` : ''}` : String(error);
    return storageError(code, `IndexedDB storage "${this.name}" failed: ${why}`, { cause: e?.name });
  }
}
