/**
 * Browser-only scenarios: code that needs what only a browser has (IndexedDB across a reload). The
 * runner calls these from `browser-only.mjs` through `window.scenarios`, between page reloads.
 */
import { createHappen } from '../../src/index.ts';
import { security, toBase64Url, verifyEvent, webCryptoBackend, nobleBackend, fromBase64Url } from '../../src/security/index.ts';
import { indexedDbKeyStore } from '../../src/security/keystore-indexeddb.ts';
import { indexedDbStorage } from '../../src/storage/indexeddb.ts';
import { createEventSourcedNode, nodeLog, type Storage } from '../../src/storage/index.ts';

/** Signs one event with the node's stored (or new) identity; reports its key and the event. */
async function signWithStoredIdentity(dbName: string) {
  const sec = security({ level: 'low', keyStore: indexedDbKeyStore({ name: dbName }) });
  const happen = createHappen({ extensions: [sec] });
  const node = happen.createNode('tab');
  const identity = await sec.identityOf('tab');
  const event = node.broadcast({ type: 'tab.opened', payload: { at: 'now' } });
  await happen.settled();
  return { publicKey: toBase64Url(identity.publicKey), extractable: identity.extractable, backend: identity.backend, event };
}

/** Verifies an event against a base64url public key with both backends. */
async function verifyWith(event: never, publicKey: string) {
  const key = fromBase64Url(publicKey);
  await verifyEvent(event, key, webCryptoBackend);
  await verifyEvent(event, key, nobleBackend);
  return true;
}

/** Whether a store without IndexedDB fails with a typed error. */
async function unavailableStoreError() {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB')!;
  Object.defineProperty(globalThis, 'indexedDB', { value: undefined, configurable: true });
  try {
    await indexedDbKeyStore({ name: 'nowhere' }).load('x');
    return 'no error';
  } catch (error) {
    return `${(error as { category: string }).category}/${(error as { code: string }).code}`;
  } finally {
    Object.defineProperty(globalThis, 'indexedDB', saved);
  }
}

/** `category/code` of a HappenError, or what else was thrown (so a raw DOMException shows up in the assertion). */
function codeOf(error: unknown): string {
  const e = error as { name?: string; category?: string; code?: string; message?: string };
  return e?.name === 'HappenError' ? `${e.category}/${e.code}` : `raw ${e?.name}: ${e?.message}`;
}

/** Writes `entries` to the IndexedDB storage `name` and leaves the connection open, as a tab that is then reloaded. */
async function storageWrite(name: string, entries: Array<[string, unknown]>): Promise<void> {
  await indexedDbStorage(name).batch(entries.map(([key, value]) => ({ type: 'put', key, value })));
}

/** Every entry of the IndexedDB storage `name`. */
async function storageReadAll(name: string): Promise<Array<[string, unknown]>> {
  const storage = indexedDbStorage(name);
  try {
    return await storage.list({ prefix: '' });
  } finally {
    await storage.close();
  }
}

/** What each Storage call rejects with (`category/code`, or `resolved`). */
async function callOutcomes(storage: Storage): Promise<string[]> {
  const calls = [
    () => storage.get('k'),
    () => storage.put('k', 1),
    () => storage.delete('k'),
    () => storage.list({ prefix: '' }),
    () => storage.batch([{ type: 'put', key: 'k', value: 1 }], [{ key: 'k', value: undefined }]),
  ];
  const outcomes: string[] = [];
  for (const call of calls) outcomes.push(await call().then(() => 'resolved', codeOf));
  return outcomes;
}

/**
 * How every call fails where IndexedDB cannot be used: `missing` (no global at all), `as-is` (the page's
 * own IndexedDB, for a sandboxed page where Chromium's indexedDB.open throws SecurityError), `newer`
 * (the database already exists at a later version, so the open request fails asynchronously).
 * For `missing`, also whether the same storage works once IndexedDB is back (failures are not cached).
 */
async function unavailableStorage(how: 'missing' | 'as-is' | 'newer') {
  const name = `unavailable-${crypto.randomUUID()}`;
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB')!;
  if (how === 'missing') delete (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (how === 'newer') {
    await new Promise((resolve, reject) => {
      const request = indexedDB.open(name, 2);
      request.onsuccess = () => resolve(request.result.close());
      request.onerror = () => reject(request.error);
    });
  }
  const storage = indexedDbStorage(name);
  try {
    const outcomes = await callOutcomes(storage);
    if (how !== 'missing') return { outcomes };
    Object.defineProperty(globalThis, 'indexedDB', saved);
    await storage.put('after', 'restored');
    return { outcomes, afterRestore: await storage.get('after') };
  } finally {
    if (!Object.getOwnPropertyDescriptor(globalThis, 'indexedDB')) Object.defineProperty(globalThis, 'indexedDB', saved);
    await storage.close();
  }
}

/**
 * Another tab deletes the database while this storage holds a connection: the delete must not be
 * blocked (the adapter closes on `versionchange`), and the storage keeps working on a fresh database.
 */
async function storageYieldsToDelete() {
  const name = `yield-${crypto.randomUUID()}`;
  const storage = indexedDbStorage(name);
  await storage.put('k', 'before');
  const deleted = await new Promise<string>((resolve) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve('deleted');
    request.onerror = () => resolve(`error ${request.error?.name}`);
    request.onblocked = () => resolve('blocked');
  });
  const afterDelete = await storage.get('k');
  await storage.put('k', 'after');
  const afterPut = await storage.get('k');
  await storage.close();
  return { deleted, afterDelete, afterPut };
}

/** A batch whose second value cannot be cloned (a function): its error, and whether the first put was committed anyway. */
async function storageUncloneable() {
  const storage = indexedDbStorage(`clone-${crypto.randomUUID()}`);
  try {
    const ops = [{ type: 'put' as const, key: 'a', value: 1 }, { type: 'put' as const, key: 'b', value: { run: () => 1 } }];
    const code = await storage.batch(ops).then(() => 'resolved', codeOf);
    return { code, a: await storage.get('a') };
  } finally {
    await storage.close();
  }
}

/** A random string that compresses poorly (Chromium compresses IndexedDB values, so repeats would fit any quota). */
function incompressible(chars: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let out = '';
  for (let i = 0; i < chars; i++) out += alphabet[Math.floor(Math.random() * 64)];
  return out;
}

/** Writes a value larger than the origin's quota (which the runner shrank): what the write rejects with, and what is left. */
async function storageOverQuota(chars: number) {
  const name = `quota-${crypto.randomUUID()}`;
  const storage = indexedDbStorage(name);
  try {
    await storage.put('small', 1);
    const error = await storage.put('big', incompressible(chars)).then(() => undefined, (e: unknown) => e);
    const e = error as { message?: string; details?: { cause?: string } } | undefined;
    const big = await storage.get('big');
    return { name, code: error ? codeOf(error) : 'resolved', message: e?.message, cause: e?.details?.cause, bigStored: big !== undefined, small: await storage.get('small') };
  } finally {
    await storage.close();
  }
}

/** Once there is room again, the same database takes writes: a refused write left nothing broken. */
async function storageWritesAgain(name: string) {
  const storage = indexedDbStorage(name);
  try {
    await storage.put('small', 2);
    return { small: await storage.get('small'), big: (await storage.get('big')) !== undefined };
  } finally {
    await storage.close();
  }
}

const stockReducers = { 'stock.moved': (s: number, e: { payload: number }) => s + e.payload };

/** A tab's work before a reload: a node with persisted state and events, and an event-sourced node. */
async function nodesWrite(name: string): Promise<{ orders: number; stock: number }> {
  const storage = indexedDbStorage(name);
  const happen = createHappen();
  const shop = happen.createNode('shop', { state: { orders: 0 }, storage, persistEvents: ['order.*'] });
  await shop.ready;
  shop.on('order.placed', () => void shop.state.set((s) => ({ orders: s.orders + 1 })));
  for (let i = 0; i < 3; i++) await shop.emit({ type: 'order.placed', payload: { n: i } });
  const stock = createEventSourcedNode('stock', { reducers: stockReducers, storage, initialState: 100, snapshotEvery: 2, happen });
  for (const delta of [-5, -10, 20]) await stock.append({ type: 'stock.moved', payload: delta });
  await happen.settled();
  return { orders: shop.state.get().orders, stock: stock.state.get() };
}

/** The same nodes after the reload: restored state, the log, the event-sourced state and its history. */
async function nodesRead(name: string) {
  const storage = indexedDbStorage(name);
  try {
    const happen = createHappen();
    const shop = happen.createNode('shop', { state: { orders: 0 }, storage });
    await shop.ready;
    const stock = createEventSourcedNode('stock', { reducers: stockReducers, storage, initialState: 100, happen });
    await stock.ready;
    return {
      state: shop.state.get(),
      log: (await nodeLog(storage, 'shop').read()).map((e) => [e.sequence, e.event.type, e.event.payload.n]),
      stock: stock.state.get(),
      sequence: stock.sequence,
      history: [await stock.getStateAt(1), await stock.getStateAt(2)],
    };
  } finally {
    await storage.close();
  }
}

(globalThis as Record<string, unknown>).scenarios = {
  nodesWrite,
  nodesRead,
  signWithStoredIdentity,
  verifyWith,
  unavailableStoreError,
  storageWrite,
  storageReadAll,
  unavailableStorage,
  storageYieldsToDelete,
  storageOverQuota,
  storageWritesAgain,
  storageUncloneable,
};
