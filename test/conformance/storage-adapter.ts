/**
 * The one test suite every `Storage` adapter passes, each in its real runtime: memory everywhere,
 * IndexedDB in Chromium, Durable Object storage in workerd, Deno KV in Deno. `open` must return an
 * empty, isolated storage on every call (a fresh database, object or key prefix).
 */
import type { Storage } from '../../src/storage/index.ts';
import { deepEqual, equal, isHappenError, ok, rejects } from './assert.ts';
import { describe, test } from './harness.ts';

/** A test body that gets a fresh storage from `open` and closes it afterwards, pass or fail. */
export function withStorageFrom(open: () => Promise<Storage>) {
  return (fn: (s: Storage) => Promise<void>) => async () => {
    const storage = await open();
    try {
      await fn(storage);
    } finally {
      await storage.close();
    }
  };
}

/** Registers the adapter suite for one adapter under `storage adapter (name)`. */
export function adapterSuite(name: string, open: () => Promise<Storage>): void {
  const withStorage = withStorageFrom(open);

  describe(`storage adapter (${name})`, () => {
    test('get of a missing key is undefined; put then get round-trips the value', withStorage(async (s) => {
      equal(await s.get('missing'), undefined);
      const value = { n: 1.5, s: 'héllo ✓ 𝄞', list: [1, 'two', null, true], nested: { deep: { ok: false } } };
      await s.put('k', value);
      deepEqual(await s.get('k'), value);
      await s.put('k', 'replaced');
      equal(await s.get('k'), 'replaced');
    }));

    test('values are copies: mutating what was put or read changes nothing stored', withStorage(async (s) => {
      const value = { count: 1 };
      await s.put('k', value);
      value.count = 2;
      const read = await s.get<{ count: number }>('k');
      equal(read!.count, 1);
      read!.count = 3;
      equal((await s.get<{ count: number }>('k'))!.count, 1);
    }));

    test('delete reports whether the key existed', withStorage(async (s) => {
      await s.put('k', 1);
      equal(await s.delete('k'), true);
      equal(await s.delete('k'), false);
      equal(await s.get('k'), undefined);
    }));

    test('list returns only the prefix, in key order, reversed and limited on request', withStorage(async (s) => {
      for (const key of ['a/3', 'a/1', 'b/1', 'a/2', 'a0', 'a']) await s.put(key, key.toUpperCase());
      deepEqual(await s.list({ prefix: 'a/' }), [['a/1', 'A/1'], ['a/2', 'A/2'], ['a/3', 'A/3']]);
      deepEqual((await s.list({ prefix: 'a/', reverse: true })).map(([k]) => k), ['a/3', 'a/2', 'a/1']);
      deepEqual((await s.list({ prefix: 'a/', limit: 2 })).map(([k]) => k), ['a/1', 'a/2']);
      deepEqual((await s.list({ prefix: 'a/', reverse: true, limit: 1 })).map(([k]) => k), ['a/3']);
      deepEqual(await s.list({ prefix: 'zzz/' }), []);
    }));

    test('list honours start (inclusive) and end (exclusive) inside the prefix', withStorage(async (s) => {
      for (let i = 0; i < 10; i++) await s.put(`log/${String(i).padStart(4, '0')}`, i);
      const between = await s.list<number>({ prefix: 'log/', start: 'log/0003', end: 'log/0006' });
      deepEqual(between.map(([, v]) => v), [3, 4, 5]);
      const tail = await s.list<number>({ prefix: 'log/', start: 'log/0007', reverse: true });
      deepEqual(tail.map(([, v]) => v), [9, 8, 7]);
      const head = await s.list<number>({ prefix: 'log/', end: 'log/0002' });
      deepEqual(head.map(([, v]) => v), [0, 1]);
    }));

    test('batch applies puts and deletes together, also beyond 128 operations', withStorage(async (s) => {
      await s.put('old', 1);
      const ops = Array.from({ length: 300 }, (_, i) => ({ type: 'put' as const, key: `many/${String(i).padStart(3, '0')}`, value: i }));
      await s.batch([...ops, { type: 'delete', key: 'old' }]);
      equal(await s.get('old'), undefined);
      const all = await s.list<number>({ prefix: 'many/' });
      equal(all.length, 300);
      equal(all[299]![1], 299);
    }));

    test('a batch whose check fails writes nothing and rejects with CONFLICT', withStorage(async (s) => {
      await s.put('head', 5);
      await s.batch([{ type: 'put', key: 'head', value: 6 }, { type: 'put', key: 'e/6', value: 'six' }], [{ key: 'head', value: 5 }]);
      equal(await s.get('head'), 6);
      const error = await rejects(s.batch([{ type: 'put', key: 'head', value: 7 }, { type: 'put', key: 'e/7', value: 'seven' }], [{ key: 'head', value: 5 }]));
      isHappenError(error, 'runtime', 'CONFLICT');
      equal(await s.get('head'), 6);
      equal(await s.get('e/7'), undefined);
    }));

    test('a check for undefined requires the key to be absent', withStorage(async (s) => {
      await s.batch([{ type: 'put', key: 'once', value: 1 }], [{ key: 'once', value: undefined }]);
      isHappenError(await rejects(s.batch([{ type: 'put', key: 'once', value: 2 }], [{ key: 'once', value: undefined }])), 'runtime', 'CONFLICT');
      equal(await s.get('once'), 1);
    }));

    test('two concurrent writers with the same check: exactly one wins', withStorage(async (s) => {
      await s.put('head', 0);
      const write = (who: string) => s.batch([{ type: 'put', key: 'head', value: 1 }, { type: 'put', key: 'e/1', value: who }], [{ key: 'head', value: 0 }]);
      const outcomes = await Promise.allSettled([write('first'), write('second')]);
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      equal(won.length, 1, 'one writer wins');
      equal(lost.length, 1, 'one writer loses');
      isHappenError(lost[0]!.reason, 'runtime', 'CONFLICT');
      ok(['first', 'second'].includes((await s.get<string>('e/1'))!));
    }));

    test('bad keys and values get typed validation errors and change nothing', withStorage(async (s) => {
      isHappenError(await rejects(s.put('', 1)), 'validation', 'INVALID_KEY');
      isHappenError(await rejects(s.get(42 as unknown as string)), 'validation', 'INVALID_KEY');
      isHappenError(await rejects(s.put('lone\ud800', 1)), 'validation', 'INVALID_KEY');
      isHappenError(await rejects(s.put('u', undefined)), 'validation', 'INVALID_VALUE');
      isHappenError(await rejects(s.put('f', { run: () => 1 })), 'validation', 'INVALID_VALUE');
      isHappenError(await rejects(s.batch([{ type: 'put', key: 'fine', value: 1 }, { type: 'put', key: '', value: 2 }])), 'validation', 'INVALID_KEY');
      equal(await s.get('fine'), undefined, 'a batch with one bad op writes nothing');
    }));

    test('a value over the adapter limit is refused with VALUE_TOO_LARGE', withStorage(async (s) => {
      ok(s.maxValueBytes > 1024 && s.maxValueBytes <= 64 * 1024 * 1024, `maxValueBytes is ${s.maxValueBytes}`);
      const size = s.maxValueBytes + 16;
      isHappenError(await rejects(s.put('big', 'x'.repeat(size))), 'validation', 'VALUE_TOO_LARGE');
      equal(await s.get('big'), undefined);
    }));

    test('after close every call rejects with STORAGE_UNAVAILABLE', async () => {
      const s = await open();
      await s.put('k', 1);
      await s.close();
      isHappenError(await rejects(s.get('k')), 'runtime', 'STORAGE_UNAVAILABLE');
      isHappenError(await rejects(s.put('k', 2)), 'runtime', 'STORAGE_UNAVAILABLE');
    });
  });
}
