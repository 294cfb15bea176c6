/**
 * The edge function example (examples/edge-function) in workerd: bundled as `npm run example:edge`
 * bundles it, run in miniflare, and asked real requests — each answered by the node its route names,
 * bad input with a 400 carrying the typed error. Its wrangler.toml passes `wrangler deploy --dry-run`.
 */
import { execFile } from 'node:child_process';
import { deepStrictEqual, equal, match, ok } from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Miniflare } from 'miniflare';
import { bundleEdgeFunction, miniflareOptions } from '../../examples/edge-function/dev.mjs';

const RUNTIME = 'workerd:edge-function';
const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the tests; `record(runtime, result)` is run.mjs's reporter. */
export async function edgeFunctionTests(record, filter = '') {
  const tests = [];
  const test = (name, fn) => tests.push({ name: `edge › examples › edge function › ${name}`, fn });
  const selected = () => tests.filter((t) => !filter || t.name.includes(filter));
  let mf;
  const request = (path, init) => mf.dispatchFetch(`http://edge.example${path}`, init);
  const post = (path, body, type = 'application/json') =>
    request(path, { method: 'POST', headers: { 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const expectError = async (response, status, category, code) => {
    const body = await response.json();
    equal(response.status, status, `status for ${code}: ${JSON.stringify(body)}`);
    equal(body.error.category, category);
    equal(body.error.code, code);
    equal(typeof body.error.message, 'string');
    return body.error;
  };

  test('GET /catalog is answered by the catalog node', async () => {
    const response = await request('/catalog');
    equal(response.status, 200);
    deepStrictEqual((await response.json()).map((p) => p.sku), ['MUG-1', 'TEE-M', 'STK-5']);
    match(response.headers.get('x-happen-correlation-id') ?? '', /^[0-9a-z]{20,}$/);
  });

  test('POST /quote: the pricing node validates, asks the catalog node for prices and answers the total', async () => {
    const response = await post('/quote', { items: [{ sku: 'MUG-1', qty: 2 }, { sku: 'STK-5', qty: 3 }], coupon: 'edge10' });
    equal(response.status, 200);
    deepStrictEqual(await response.json(), {
      lines: [
        { sku: 'MUG-1', name: 'Happen mug', qty: 2, price: 1200, amount: 2400 },
        { sku: 'STK-5', name: 'Sticker pack', qty: 3, price: 400, amount: 1200 },
      ],
      subtotal: 3600,
      discount: 360,
      total: 3240,
      currency: 'EUR',
    });
    // Two requests are two causal trees.
    const again = await post('/quote', { items: [{ sku: 'TEE-M', qty: 1 }] });
    equal((await again.json()).total, 2500);
    ok(again.headers.get('x-happen-correlation-id') !== response.headers.get('x-happen-correlation-id'), 'a correlation id per request');
  });

  test('bad input gets a 400 with the typed error: schema issues by path, bad JSON, unknown SKU or coupon', async () => {
    const qty = await expectError(await post('/quote', { items: [{ sku: 'MUG-1', qty: 0 }] }), 400, 'validation', 'INVALID_PAYLOAD');
    deepStrictEqual(qty.issues.map((i) => i.path), ['items.0.qty']);
    const empty = await expectError(await post('/quote', { items: [] }), 400, 'validation', 'INVALID_PAYLOAD');
    deepStrictEqual(empty.issues, [{ path: 'items', message: 'a quote needs at least one item' }]);
    const shape = await expectError(await post('/quote', { items: [{ sku: 'mug 1', qty: 1.5 }] }), 400, 'validation', 'INVALID_PAYLOAD');
    deepStrictEqual(shape.issues.map((i) => i.path), ['items.0.sku', 'items.0.qty']);
    await expectError(await post('/quote', '{"items": ['), 400, 'validation', 'INVALID_JSON');
    const sku = await expectError(await post('/quote', { items: [{ sku: 'NOPE-1', qty: 1 }] }), 400, 'validation', 'UNKNOWN_SKU');
    deepStrictEqual(sku.details, { skus: ['NOPE-1'] });
    await expectError(await post('/quote', { items: [{ sku: 'MUG-1', qty: 1 }], coupon: 'FREE' }), 400, 'validation', 'UNKNOWN_COUPON');
    await expectError(await post('/quote', 'items=1', 'application/x-www-form-urlencoded'), 415, 'validation', 'UNSUPPORTED_MEDIA_TYPE');
    await expectError(await post('/quote', { items: [{ sku: 'MUG-1', qty: 1, note: 'x'.repeat(20_000) }] }), 413, 'validation', 'BODY_TOO_LARGE');
    await expectError(await request('/quote'), 405, 'validation', 'METHOD_NOT_ALLOWED');
    await expectError(await request('/nowhere'), 404, 'validation', 'NO_ROUTE');
    // The function still answers after all that.
    equal((await post('/quote', { items: [{ sku: 'MUG-1', qty: 1 }] })).status, 200);
  });

  test('wrangler accepts examples/edge-function (deploy --dry-run) and its bundle has no node: imports', async () => {
    const out = await mkdtemp(join(tmpdir(), 'happen-edge-fn-wrangler-'));
    try {
      const { stdout } = await promisify(execFile)(join(root, 'node_modules', '.bin', 'wrangler'), ['deploy', '--dry-run', '--outdir', out, '-c', join(root, 'examples', 'edge-function', 'wrangler.toml')], {
        cwd: root,
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1', NO_COLOR: '1' },
        timeout: 30_000,
      });
      match(stdout, /--dry-run: exiting now/);
      const bundle = await readFile(join(out, 'worker.js'), 'utf8');
      ok(!/from\s*["']node:/.test(bundle), 'a node: import in the wrangler bundle');
      ok(bundle.includes('quote.create'), 'the bundle holds the shop');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  if (selected().length === 0) return;
  try {
    mf = new Miniflare(miniflareOptions(await bundleEdgeFunction()));
    await mf.ready;
    for (const t of selected()) {
      const started = Date.now();
      try {
        await t.fn();
        record(RUNTIME, { name: t.name, ok: true, ms: Date.now() - started });
      } catch (error) {
        record(RUNTIME, { name: t.name, ok: false, ms: Date.now() - started, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      }
    }
  } finally {
    await mf?.dispose().catch(() => {});
  }
}
