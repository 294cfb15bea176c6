/**
 * Durable Object storage tests that only workerd can run: the shared adapter suite on `ctx.storage`,
 * workerd's own limits and errors, and the two halves of the restart test that run.mjs drives across
 * two Miniflare instances sharing one persist directory.
 */
import { durableObjectStorage, type DurableObjectStorageLike } from '../../src/storage/durable-object.ts';
import { deepEqual, equal, isHappenError, rejects } from '../conformance/assert.ts';
import { describe, test } from '../conformance/harness.ts';
import { adapterSuite } from '../conformance/storage-adapter.ts';
import { persistenceSuite } from '../conformance/persistence.ts';
import { createHappen } from '../../src/index.ts';
import { createEventSourcedNode, nodeLog } from '../../src/storage/index.ts';

const MiB = 1024 * 1024;
let registered = false;

/**
 * Registers the DO tests in the module-global conformance registry. The registry outlives any one
 * object instance, so this runs once and the tests reach storage through `storageOf` at run time.
 */
export function registerDurableObjectTests(storageOf: () => DurableObjectStorageLike): void {
  if (registered) return;
  registered = true;
  // A fresh prefix per open: every test gets an empty, isolated store inside the one object.
  const open = (options: { maxValueBytes?: number } = {}) => durableObjectStorage(storageOf(), { prefix: `test-${crypto.randomUUID()}/`, ...options });
  adapterSuite('durable-object', async () => open());
  persistenceSuite('durable-object', async () => open());

  describe('durable-object storage (workerd)', () => {
    test('prefixes isolate stores sharing one object, and list returns keys without the prefix', async () => {
      const a = open();
      const b = open();
      await a.put('k', 'from a');
      await b.put('k', 'from b');
      await a.put('x/\u{1F600}', 'astral');
      equal(await a.get('k'), 'from a');
      equal(await b.get('k'), 'from b');
      deepEqual(await a.list({ prefix: 'x/' }), [['x/\u{1F600}', 'astral']]);
      deepEqual(await b.list({ prefix: '' }), [['k', 'from b']]);
    });

    test('a key over 2 KiB with its prefix is refused with INVALID_KEY before reaching storage', async () => {
      const s = open();
      isHappenError(await rejects(s.put('é'.repeat(1024), 1)), 'validation', 'INVALID_KEY');
      isHappenError(await rejects(s.batch([{ type: 'put', key: 'ok', value: 1 }, { type: 'delete', key: 'é'.repeat(1024) }])), 'validation', 'INVALID_KEY');
      equal(await s.get('ok'), undefined);
    });

    test('SQLite-backed storage takes a 2 MB value; past ~2.2 MB workerd refuses it (VALUE_TOO_LARGE, nothing written)', async () => {
      const s = open({ maxValueBytes: 16 * MiB });
      const twoMB = 'x'.repeat(2_000_000);
      await s.put('two', twoMB);
      equal((await s.get<string>('two'))?.length, 2_000_000);
      const error = await rejects(s.batch([{ type: 'put', key: 'small', value: 1 }, { type: 'put', key: 'huge', value: 'y'.repeat(3 * MiB) }]));
      isHappenError(error, 'validation', 'VALUE_TOO_LARGE');
      equal(await s.get('small'), undefined, 'the transaction rolled back');
      isHappenError(await rejects(s.put('huge', 'y'.repeat(3 * MiB))), 'validation', 'VALUE_TOO_LARGE');
    });

    test("workerd's production limit errors map to typed codes, anything else to STORAGE_FAILED", async () => {
      const real = storageOf();
      const failing = (error: Error): DurableObjectStorageLike => ({
        get: (key) => real.get(key),
        put: () => Promise.reject(error),
        delete: () => Promise.reject(error),
        list: (options) => real.list(options),
        transaction: () => Promise.reject(error),
      });
      const cases: Array<[Error, string, string]> = [
        [new RangeError('Values cannot be larger than 131072 bytes. A value of size 140000 was provided.'), 'validation', 'VALUE_TOO_LARGE'],
        [new Error('database or disk is full: SQLITE_FULL'), 'runtime', 'STORAGE_FULL'],
        [new Error('Network connection lost.'), 'runtime', 'STORAGE_FAILED'],
      ];
      for (const [cause, category, code] of cases) {
        const s = durableObjectStorage(failing(cause), { prefix: 'never-written/' });
        isHappenError(await rejects(s.put('k', 1)), category, code);
        isHappenError(await rejects(s.batch([{ type: 'put', key: 'k', value: 1 }])), category, code);
      }
      isHappenError(await rejects(durableObjectStorage(failing(new Error('x'))).delete('k')), 'runtime', 'STORAGE_FAILED');
    });
  });
}

const pad = (i: number) => String(i).padStart(3, '0');

/** The restart test's halves: `write` before the Miniflare instance is disposed, `read` in the next one. */
export async function restartStep(step: string, storage: DurableObjectStorageLike): Promise<unknown> {
  const s = durableObjectStorage(storage, { prefix: 'restart/' });
  const n = durableObjectStorage(storage, { prefix: 'restart-nodes/' });
  if (step === 'write') {
    await s.put('config', { name: 'mesh-1', version: 3, tags: ['a', 'b'], ratio: 0.25 });
    await s.batch(Array.from({ length: 200 }, (_, i) => ({ type: 'put' as const, key: `log/${pad(i)}`, value: { seq: i } })));
    await s.put('gone', 1);
    await s.delete('gone');
    await s.batch([{ type: 'put', key: 'head', value: 199 }], [{ key: 'head', value: undefined }]);
    // A node's state and event log, and an event-sourced node, on the same storage.
    const happen = createHappen();
    const shop = happen.createNode('shop', { state: { orders: 0 }, storage: n, persistEvents: ['order.*'] });
    await shop.ready;
    shop.on('order.placed', () => void shop.state.set((st) => ({ orders: st.orders + 1 })));
    for (let i = 0; i < 3; i++) await shop.emit({ type: 'order.placed', payload: { n: i } });
    const stock = createEventSourcedNode('stock', { reducers: stockReducers, storage: n, initialState: 100, snapshotEvery: 2, happen });
    for (const delta of [-5, -10, 20]) await stock.append({ type: 'stock.moved', payload: delta });
    await happen.settled();
    return { written: true };
  }
  const happen = createHappen();
  const shop = happen.createNode('shop', { state: { orders: 0 }, storage: n });
  await shop.ready;
  const stock = createEventSourcedNode('stock', { reducers: stockReducers, storage: n, initialState: 100, happen });
  await stock.ready;
  const nodes = {
    state: shop.state.get(),
    log: (await nodeLog(n, 'shop').read()).map((e) => [e.sequence, e.event.type, e.event.payload.n]),
    stock: stock.state.get(),
    history: [await stock.getStateAt(1), await stock.getStateAt(2)],
  };
  const log = await s.list<{ seq: number }>({ prefix: 'log/' });
  const conflict = await s.batch([{ type: 'put', key: 'head', value: 0 }], [{ key: 'head', value: undefined }]).then(() => 'none', (e: { code?: string }) => e.code);
  return {
    config: await s.get('config'),
    head: await s.get('head'),
    gone: (await s.get('gone')) ?? null,
    logCount: log.length,
    logEnds: [log[0], log[log.length - 1]],
    tail: (await s.list({ prefix: 'log/', start: 'log/197', reverse: true })).map(([key]) => key),
    conflict,
    nodes,
  };
}

const stockReducers = { 'stock.moved': (st: number, e: { payload: number }) => st + e.payload };
