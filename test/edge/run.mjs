/**
 * Edge runner: runs the conformance suite in workerd (via miniflare) in a Worker fetch handler and in a
 * Durable Object, then a Durable Object restart test (two Miniflare instances, one persist directory),
 * then the Cloudflare hub (src/hub/cloudflare.ts) with real WebSocket and HTTP clients (hub.mjs), then a
 * workflow sleeping across a Durable Object restart (workflow.mjs).
 * Usage: `node test/edge/run.mjs [--filter <substring>]` (or HAPPEN_TEST_FILTER).
 * Prints PASS/FAIL lines, writes .test-results/edge.json, exits 0 only if every test passed.
 */
import { Miniflare } from 'miniflare';
import { deepStrictEqual, ok } from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { bundleWorker } from './build.mjs';
import { hubTests } from './hub.mjs';
import { edgeFunctionTests } from './edge-function.mjs';
import { workflowTests } from './workflow.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const resultsDir = join(root, '.test-results');
const CONTEXTS = [
  { runtime: 'workerd:worker', path: '/worker' },
  { runtime: 'workerd:durable-object', path: '/do' },
];
const CONTEXT_TIMEOUT_MS = 60_000;

const argIndex = process.argv.indexOf('--filter');
const filter = (argIndex >= 0 ? process.argv[argIndex + 1] : undefined) ?? process.env.HAPPEN_TEST_FILTER ?? '';

const results = [];
const record = (runtime, r) => {
  results.push({ runtime, name: r.name, ok: r.ok, ms: r.ms, ...(r.ok ? {} : { error: r.error ?? 'unknown error' }) });
  console.log(r.ok ? `PASS [${runtime}] ${r.name}` : `FAIL [${runtime}] ${r.name}: ${r.error ?? 'unknown error'}`);
};
// A context that cannot produce results still counts as one failed test, so CI never sees "0 passed".
const fail = (runtime, cause) => record(runtime, { name: `${runtime} runner`, ok: false, ms: 0, error: cause });
const describe = (error) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function runContext(mf, { runtime, path }) {
  const url = `http://localhost${path}${filter ? `?filter=${encodeURIComponent(filter)}` : ''}`;
  const response = await mf.dispatchFetch(url);
  const body = await response.text();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${body.slice(0, 500)}`);
  const list = JSON.parse(body);
  // Zero results is a failure unless a filter legitimately matched nothing in this runner.
  if (!Array.isArray(list) || (list.length === 0 && !filter)) throw new Error('no results');
  for (const r of list) record(runtime, r);
}

const RESTART_TEST = 'edge › durable-object storage › data, node state, the event log of a node and an event-sourced node survive a restart (new Miniflare, same persist dir)';
// What the read half must find after the restart (see restartStep in durable-object.ts).
const RESTART_EXPECTED = {
  config: { name: 'mesh-1', version: 3, tags: ['a', 'b'], ratio: 0.25 },
  head: 199,
  gone: null,
  logCount: 200,
  logEnds: [['log/000', { seq: 0 }], ['log/199', { seq: 199 }]],
  tail: ['log/199', 'log/198', 'log/197'],
  conflict: 'CONFLICT',
  nodes: {
    state: { orders: 3 },
    log: [[1, 'order.placed', 0], [2, 'order.placed', 1], [3, 'order.placed', 2]],
    stock: 105,
    history: [95, 85],
  },
};

const disposeQuietly = (mf) => withTimeout(mf?.dispose() ?? Promise.resolve(), 10_000, 'miniflare dispose').catch(() => {});

async function restartTest(options) {
  const persist = await mkdtemp(join(tmpdir(), 'happen-do-restart-'));
  const step = async (name) => {
    const mf = new Miniflare({ ...options, durableObjectsPersist: persist });
    try {
      const response = await mf.dispatchFetch(`http://localhost/restart?step=${name}`);
      const body = await response.text();
      if (!response.ok) throw new Error(`${name}: HTTP ${response.status}: ${body.slice(0, 500)}`);
      return JSON.parse(body);
    } finally {
      await disposeQuietly(mf);
    }
  };
  try {
    deepStrictEqual(await step('write'), { written: true });
    const files = await readdir(persist, { recursive: true });
    ok(files.some((f) => f.endsWith('.sqlite')), `no SQLite file in the persist dir: ${files.join(', ')}`);
    deepStrictEqual(await step('read'), RESTART_EXPECTED);
  } finally {
    await rm(persist, { recursive: true, force: true });
  }
}

const started = Date.now();
let mf;
let options;
try {
  const buildDir = join(resultsDir, 'edge-build');
  const scriptPath = await bundleWorker(buildDir);
  options = {
    modules: true,
    scriptPath,
    modulesRoot: buildDir, // default is cwd; workerd refuses a script outside it
    compatibilityDate: '2026-04-01',
    // SQLite-backed, as Cloudflare recommends for new classes (wrangler: new_sqlite_classes).
    durableObjects: { SUITE: { className: 'SuiteObject', useSQLite: true } },
  };
  mf = new Miniflare(options);
  await withTimeout(mf.ready, CONTEXT_TIMEOUT_MS, 'miniflare start');
  for (const context of CONTEXTS) {
    try {
      await withTimeout(runContext(mf, context), CONTEXT_TIMEOUT_MS, `${context.runtime} suite`);
    } catch (error) {
      fail(context.runtime, describe(error));
    }
  }
} catch (error) {
  // Bundling or miniflare failed: neither context ran.
  for (const { runtime } of CONTEXTS) fail(runtime, describe(error));
} finally {
  // After a failed start dispose rethrows the start error, already recorded above.
  await disposeQuietly(mf);
}

if (options && (!filter || RESTART_TEST.includes(filter))) {
  const restartStarted = Date.now();
  try {
    await withTimeout(restartTest(options), CONTEXT_TIMEOUT_MS, 'restart test');
    record('workerd:durable-object', { name: RESTART_TEST, ok: true, ms: Date.now() - restartStarted });
  } catch (error) {
    record('workerd:durable-object', { name: RESTART_TEST, ok: false, ms: Date.now() - restartStarted, error: describe(error) });
  }
}

try {
  await withTimeout(hubTests(join(resultsDir, 'edge-build'), record, filter), CONTEXT_TIMEOUT_MS, 'hub tests');
} catch (error) {
  fail('workerd:hub', describe(error));
}

try {
  await withTimeout(edgeFunctionTests(record, filter), CONTEXT_TIMEOUT_MS, 'edge function tests');
} catch (error) {
  fail('workerd:edge-function', describe(error));
}

try {
  await withTimeout(workflowTests(join(resultsDir, 'edge-build'), record, filter), CONTEXT_TIMEOUT_MS, 'workflow tests');
} catch (error) {
  fail('workerd:workflow', describe(error));
}

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
await mkdir(resultsDir, { recursive: true });
await writeFile(join(resultsDir, 'edge.json'), JSON.stringify({ runner: 'edge', passed, failed, results }, null, 2) + '\n');
// Deliberately not "N passed, N failed": CI reads that pattern only from the aggregator's closing line.
console.log(`edge: ${passed}/${results.length} passed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
process.exit(failed === 0 && (passed > 0 || filter) ? 0 : 1);
