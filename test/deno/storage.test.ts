/**
 * What only Deno KV has, beyond the shared adapter suite (registered in conformance.test.ts): a
 * database file that survives a process restart, the `--unstable-kv` requirement, several prefixed
 * stores on one KV, and KV's own limits (serialized value size, mutations and bytes per commit).
 */
import assert from 'node:assert/strict';
import { denoKvStorage, openDenoKvStorage, type DenoKvAtomicLike, type DenoKvKey } from '../../src/storage/deno-kv.ts';

const SANITIZE = { sanitizeOps: true, sanitizeResources: true } as const;
const CHILD = new URL('./fixtures/kv-child.ts', import.meta.url).pathname;
// Under .test-results, which the runner lets these tests (and their children) write.
const SCRATCH = new URL('../../.test-results/deno-kv/', import.meta.url).pathname;

/** Runs the child fixture in a fresh `deno run` process; resolves with its one JSON line. */
async function child(mode: string, path: string, unstableKv = true): Promise<Record<string, unknown>> {
  const args = ['run', '--no-prompt', `--allow-read=${SCRATCH}`, `--allow-write=${SCRATCH}`, ...(unstableKv ? ['--unstable-kv'] : []), CHILD, mode, path];
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), { args, stdout: 'piped', stderr: 'piped' }).output();
  const text = new TextDecoder().decode(stdout).trim();
  assert.equal(code, 0, `child ${mode} exited with ${code}: ${new TextDecoder().decode(stderr)}`);
  return JSON.parse(text.split('\n').at(-1)!);
}

/** Runs `fn` with a fresh scratch directory, removed afterwards whatever happens. */
async function inScratchDir(fn: (dir: string) => Promise<void>): Promise<void> {
  await Deno.mkdir(SCRATCH, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: SCRATCH });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: 'deno-kv › values written by one process are read back by the next (a restart)',
  ...SANITIZE,
  fn: () =>
    inScratchDir(async (dir) => {
      const path = `${dir}/happen.kv`;
      assert.deepEqual(await child('write', path), { wrote: true });
      const read = await child('read', path);
      assert.deepEqual(read.config, { name: 'happen', tags: ['a', 'b'], at: 1.5 });
      assert.deepEqual(read.log, Array.from({ length: 5 }, (_, i) => [`log/${i}`, `event ${i}`]));
    }),
});

Deno.test({
  name: "deno-kv › node state, a node's event log and an event-sourced node survive a process restart",
  ...SANITIZE,
  fn: () =>
    inScratchDir(async (dir) => {
      const path = `${dir}/nodes.kv`;
      assert.deepEqual(await child('node-write', path), { orders: 3, stock: 105 });
      const read = await child('node-read', path);
      assert.deepEqual(read.state, { orders: 3 });
      assert.deepEqual(read.log, [[1, 'order.placed', 0], [2, 'order.placed', 1], [3, 'order.placed', 2]]);
      assert.equal(read.stock, 105);
      assert.equal(read.sequence, 3);
      assert.deepEqual(read.history, [95, 85]);
    }),
});

Deno.test({
  name: 'deno-kv › without --unstable-kv openDenoKvStorage rejects with STORAGE_UNAVAILABLE',
  ...SANITIZE,
  fn: () =>
    inScratchDir(async (dir) => {
      const result = await child('open', `${dir}/happen.kv`, false);
      assert.equal(result.name, 'HappenError');
      assert.equal(result.code, 'STORAGE_UNAVAILABLE');
      assert.match(String(result.message), /--unstable-kv/);
    }),
});

Deno.test({
  name: 'deno-kv › prefixes isolate stores on one KV; closing an adapter leaves the caller\'s KV open',
  ...SANITIZE,
  async fn() {
    const kv = await Deno.openKv(':memory:');
    try {
      const a = denoKvStorage(kv, { prefix: 'a:' });
      const b = denoKvStorage(kv, { prefix: 'b:' });
      await a.put('x/1', 'a1');
      await b.put('x/1', 'b1');
      await b.put('x/2', 'b2');
      assert.deepEqual(await a.list({ prefix: 'x/' }), [['x/1', 'a1']]);
      assert.deepEqual(await b.list({ prefix: '' }), [['x/1', 'b1'], ['x/2', 'b2']]);
      assert.equal((await kv.get(['happen', 'b:x/2'])).value, 'b2');
      await a.close();
      await assert.rejects(a.get('x/1'), { code: 'STORAGE_UNAVAILABLE' });
      assert.equal(await b.get('x/1'), 'b1');
    } finally {
      kv.close();
    }
  },
});

Deno.test({
  name: 'deno-kv › keys with characters above U+FFFF are listed under their prefix',
  ...SANITIZE,
  async fn() {
    const s = await openDenoKvStorage(':memory:');
    try {
      for (const key of ['e/a', 'e/\u{1F600}', 'e/\uffee', 'f']) await s.put(key, key);
      // KV orders by UTF-8 bytes, so U+FFEE sorts before U+1F600 (JS code units would say the reverse).
      assert.deepEqual((await s.list({ prefix: 'e/' })).map(([k]) => k), ['e/a', 'e/\uffee', 'e/\u{1F600}']);
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name: 'deno-kv › a value under the JSON limit but over KV\'s serialized 64 KiB is VALUE_TOO_LARGE',
  ...SANITIZE,
  async fn() {
    const s = await openDenoKvStorage(':memory:');
    try {
      // One character above U+00FF makes V8 serialize the whole string as UTF-16: ~80 KB for 40 KB of JSON.
      const value = 'a'.repeat(40_000) + '\u4e2d';
      await assert.rejects(s.put('big', value), { name: 'HappenError', code: 'VALUE_TOO_LARGE', category: 'validation' });
      await assert.rejects(s.batch([{ type: 'put', key: 'big', value }], [{ key: 'big', value: undefined }]), { code: 'VALUE_TOO_LARGE' });
      assert.equal(await s.get('big'), undefined);
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name: 'deno-kv › a batch without checks beyond one commit (1,000 ops, 800 KiB) is split; a checked one is refused',
  ...SANITIZE,
  async fn() {
    const s = await openDenoKvStorage(':memory:');
    try {
      const many = Array.from({ length: 2500 }, (_, i) => ({ type: 'put' as const, key: `n/${String(i).padStart(4, '0')}`, value: i }));
      await s.batch(many);
      assert.equal((await s.list({ prefix: 'n/' })).length, 2500);
      const heavy = Array.from({ length: 20 }, (_, i) => ({ type: 'put' as const, key: `h/${i}`, value: 'x'.repeat(60_000) }));
      await s.batch(heavy); // 1.2 MB: over KV's 800 KiB per commit
      assert.equal((await s.list({ prefix: 'h/' })).length, 20);
      await assert.rejects(s.batch([...many.slice(0, 1001)], [{ key: 'n/0000', value: 0 }]), { code: 'VALUE_TOO_LARGE', category: 'validation' });
      await assert.rejects(s.batch(heavy.map((op) => ({ ...op, key: `g/${op.key}` })), [{ key: 'n/0000', value: 0 }]), { code: 'VALUE_TOO_LARGE' });
      assert.deepEqual(await s.list({ prefix: 'g/' }), []);
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name: 'deno-kv › a checked value that changes between the read and the commit fails with CONFLICT',
  ...SANITIZE,
  async fn() {
    const kv = await Deno.openKv(':memory:');
    try {
      // The same KV, except that a rival write lands just before every commit.
      const racing = {
        get: (key: DenoKvKey) => kv.get(key),
        set: (key: DenoKvKey, value: unknown) => kv.set(key, value),
        list: (selector: { start: DenoKvKey; end: DenoKvKey }, options?: Deno.KvListOptions) => kv.list(selector, options),
        close: () => kv.close(),
        atomic(): DenoKvAtomicLike {
          const atomic = kv.atomic();
          const wrapped: DenoKvAtomicLike = {
            check: (...checks) => (atomic.check(...checks), wrapped),
            set: (key, value) => (atomic.set(key, value), wrapped),
            delete: (key) => (atomic.delete(key), wrapped),
            commit: async () => (await kv.set(['happen', 'head'], 'rival'), atomic.commit()),
          };
          return wrapped;
        },
      };
      await kv.set(['happen', 'head'], 0);
      const s = denoKvStorage(racing);
      await assert.rejects(s.batch([{ type: 'put', key: 'head', value: 1 }, { type: 'put', key: 'e/1', value: 'one' }], [{ key: 'head', value: 0 }]), { code: 'CONFLICT' });
      assert.equal(await s.get('head'), 'rival');
      assert.equal(await s.get('e/1'), undefined);
      // The adapter also takes a real Deno.Kv as it is.
      assert.equal(await denoKvStorage(kv).get('head'), 'rival');
    } finally {
      kv.close();
    }
  },
});
