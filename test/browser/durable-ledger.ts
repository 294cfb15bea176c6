/**
 * The consumer's side effect in the kill test: an idempotent ledger in its own IndexedDB database,
 * keyed by event id. One readwrite transaction per handler run counts the run (`runs`), and applies
 * the entry only if its id is not there yet (`ledger`, with the order it was first applied in), so a
 * redelivered event is counted as a duplicate delivery but has no second effect. A worker killed
 * mid-transaction leaves none of it behind.
 */

const open = (name: string): Promise<IDBDatabase> =>
  new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => {
      for (const store of ['ledger', 'runs', 'meta']) request.result.createObjectStore(store);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

const read = <T>(request: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

/** One entry of the ledger: the event's payload and its place in the order of first application. */
export interface LedgerEntry {
  seq: number;
  order: number;
}

/** Opens the ledger `name`; `apply` resolves once the run's transaction has committed. */
export async function openLedger(name: string): Promise<{ apply(id: string, seq: number): Promise<void> }> {
  const db = await open(name);
  return {
    apply: (id, seq) =>
      new Promise<void>((resolve, reject) => {
        const tx = db.transaction(['ledger', 'runs', 'meta'], 'readwrite');
        tx.oncomplete = () => resolve();
        tx.onabort = tx.onerror = () => reject(tx.error ?? new Error('ledger transaction aborted'));
        const ledger = tx.objectStore('ledger');
        const runs = tx.objectStore('runs');
        const meta = tx.objectStore('meta');
        runs.get(id).onsuccess = (e) => runs.put((((e.target as IDBRequest).result as number | undefined) ?? 0) + 1, id);
        ledger.getKey(id).onsuccess = (e) => {
          if ((e.target as IDBRequest).result !== undefined) return; // applied before: no second effect
          meta.get('count').onsuccess = (m) => {
            const order = ((m.target as IDBRequest).result as number | undefined) ?? 0;
            ledger.put({ seq, order } satisfies LedgerEntry, id);
            meta.put(order + 1, 'count');
          };
        };
      }),
  };
}

/** Everything in the ledger `name`: its entries by id and the handler runs per id. */
export async function readLedger(name: string): Promise<{ entries: Array<[string, LedgerEntry]>; runs: Record<string, number> }> {
  const db = await open(name);
  try {
    const tx = db.transaction(['ledger', 'runs'], 'readonly');
    const [keys, values, runKeys, runValues] = await Promise.all([
      read(tx.objectStore('ledger').getAllKeys()),
      read(tx.objectStore('ledger').getAll()),
      read(tx.objectStore('runs').getAllKeys()),
      read(tx.objectStore('runs').getAll()),
    ]);
    return {
      entries: keys.map((k, i) => [k as string, values[i] as LedgerEntry]),
      runs: Object.fromEntries(runKeys.map((k, i) => [k as string, runValues[i] as number])),
    };
  } finally {
    db.close();
  }
}

/** How many entries the ledger `name` holds now. */
export async function ledgerSize(name: string): Promise<number> {
  const db = await open(name);
  try {
    return await read(db.transaction('ledger', 'readonly').objectStore('ledger').count());
  } finally {
    db.close();
  }
}
