#!/usr/bin/env node
/**
 * The cross-runtime mesh: a Chromium tab (`ui`), the Cloudflare hub in workerd hosting an edge node
 * (`edge`, in its Durable Object) and a Deno process (`db`), joined over real WebSockets on loopback.
 *   node test/mesh/run.mjs [--filter <substring>]
 * Prints PASS/FAIL lines, writes .test-results/mesh.json, exits 0 only if every test passed.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { freePort } from '../free-port.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const here = fileURLToPath(new URL('.', import.meta.url));
const resultsDir = join(root, '.test-results');
const argIndex = process.argv.indexOf('--filter');
const filter = (argIndex >= 0 ? process.argv[argIndex + 1] : undefined) ?? process.env.HAPPEN_TEST_FILTER ?? '';
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const DENO = join(root, 'node_modules', '.bin', 'deno');
const MESH = 'cross';
const HEARTBEAT = 300;

const results = [];
const record = (name, ok, ms, error) => {
  results.push({ runtime: 'mesh', name, ok, ms, ...(ok ? {} : { error }) });
  console.log(ok ? `PASS [mesh] ${name} (${ms} ms)` : `FAIL [mesh] ${name}: ${error}`);
};

async function until(check, what, timeout = 10_000) {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > timeout) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function bundle(entry, options) {
  const out = await build({ entryPoints: [join(here, entry)], bundle: true, format: 'esm', write: false, target: 'es2022', logLevel: 'silent', ...options });
  return out.outputFiles[0].text;
}

/** A Deno process hosting `db`; resolves once it has joined the mesh. */
function startDeno(url) {
  const child = spawn(DENO, ['run', '--config', join(root, 'deno.json'), '--allow-net=127.0.0.1', '--allow-env', `--allow-read=${root}`, join(here, 'deno-peer.ts'), url], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  let stderr = '';
  child.stdout.setEncoding('utf8');
  let buffered = '';
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop();
    lines.push(...parts.filter(Boolean));
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const ready = until(() => lines.includes('READY') || (child.exitCode !== null && Promise.reject(new Error(`deno exited: ${stderr.slice(-800)}`))), 'the Deno peer to join', 30_000);
  return { child, lines, ready, stderr: () => stderr };
}

const started = Date.now();
const tests = [];
const test = (name, fn) => tests.push({ name: `mesh › ${name}`, fn });

const workDir = await mkdtemp(join(tmpdir(), 'happen-mesh-'));
const port = await freePort();
let mf;
let browser;
let pageServer;
const denos = [];
try {
  const workerPath = join(workDir, 'edge-hub.mjs');
  await writeFile(
    workerPath,
    await bundle('edge-hub.ts', { platform: 'neutral', mainFields: ['module', 'main'], conditions: ['workerd', 'worker', 'browser'], external: ['cloudflare:*'] }),
  );
  const hubOptions = {
    modules: true,
    scriptPath: workerPath,
    modulesRoot: workDir,
    compatibilityDate: '2026-04-01',
    host: '127.0.0.1',
    port,
    durableObjects: { HUB: { className: 'EdgeHub', useSQLite: true } },
    durableObjectsPersist: join(workDir, 'do'),
  };
  mf = new Miniflare(hubOptions);
  await mf.ready;
  const hubUrl = `ws://127.0.0.1:${port}/mesh/${MESH}/ws`;
  // The Node-side peers, bundled inside the repo so their packages resolve.
  await mkdir(resultsDir, { recursive: true });
  const peersPath = join(resultsDir, 'mesh-node-peers.mjs');
  await writeFile(peersPath, await bundle('node-peers.ts', { platform: 'node', target: 'node20', packages: 'external' }));

  const pageJs = await bundle('page.ts', { platform: 'browser' });
  pageServer = createServer((req, res) => {
    if (req.url === '/page.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(pageJs);
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/page.js"></script>');
  });
  await new Promise((r) => pageServer.listen(0, '127.0.0.1', r));

  let deno = startDeno(hubUrl);
  denos.push(deno);
  await deno.ready;

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'] });
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${pageServer.address().port}/`);
  await page.waitForFunction(() => globalThis.pageReady === true);
  const nodes = await page.evaluate((url) => globalThis.startUi(url), hubUrl);
  ok(nodes.includes('db') && nodes.includes('edge'), `the tab sees the whole mesh: ${nodes}`);

  test('a tab ↔ the workerd hub (edge node) ↔ a Deno node: send/return, broadcast fan-out, one causal tree across three runtimes', async () => {
    const before = deno.lines.length;
    const { result, request, events } = await page.evaluate(() => globalThis.report('sarah'));
    deepStrictEqual(result, { rows: [`sarah:${deno.child.pid}`] });
    const tab = new Map(events.map((e) => [e.id, e]));
    const seen = (type, sender) => events.find((e) => e.type === type && e.context.causal.sender === sender);
    ok(seen('report.started', 'edge'), 'the edge broadcast reached the tab');
    ok(seen('rows.read', 'db'), 'the Deno broadcast reached the tab');
    equal(seen('report.started', 'edge').context.causal.causationId, request.id);
    equal(seen('happen.reply', 'edge').context.causal.causationId, request.id);
    // Deno's own web holds the hop the tab never saw (edge → db); together they are one tree.
    const line = await until(() => deno.lines.slice(before).find((l) => l.startsWith('{')), 'the Deno trace');
    const denoEvents = JSON.parse(line).events;
    const rowsGet = denoEvents.find((e) => e.type === 'rows.get');
    ok(rowsGet, 'Deno handled rows.get');
    equal(rowsGet.context.causal.sender, 'edge');
    equal(rowsGet.context.causal.causationId, request.id);
    deepStrictEqual(rowsGet.context.causal.path, ['ui', 'edge']);
    equal(seen('rows.read', 'db').context.causal.causationId, rowsGet.id);
    const all = new Map([...tab, ...denoEvents.map((e) => [e.id, e])]);
    for (const e of all.values()) {
      equal(e.context.causal.correlationId, request.id, `${e.type} shares the correlation`);
      if (e.id !== request.id) ok(all.has(e.context.causal.causationId), `${e.type}@${e.context.causal.sender} hangs off a known event`);
    }
    deepStrictEqual([...new Set([...all.values()].map((e) => e.context.causal.sender))].sort(), ['db', 'edge', 'ui']);
  });

  test('a stopped peer leaves routing after the heartbeat window; a restarted one rejoins and answers', async () => {
    const stoppedAt = Date.now();
    deno.child.kill('SIGSTOP'); // hung, its socket still open: only missed heartbeats can tell
    const left = await until(
      () => page.evaluate(() => globalThis.membership().find((m) => m.type === 'mesh.node.left' && m.node === 'db')),
      'db to be removed',
    );
    const window = left.at - stoppedAt;
    equal(left.reason, 'heartbeat');
    ok(window >= 2 * HEARTBEAT, `removed after missed heartbeats, not at once (${window} ms)`);
    ok(!(await page.evaluate(() => globalThis.nodes())).includes('db'), 'happen.nodes() no longer lists db');
    deno.child.kill('SIGKILL');
    deno = startDeno(hubUrl);
    denos.push(deno);
    await deno.ready;
    await page.evaluate(() => globalThis.waitForNode('db'));
    const { result } = await page.evaluate(() => globalThis.report('again'));
    deepStrictEqual(result, { rows: [`again:${deno.child.pid}`] });
  });

  test('the workerd hub restarts during a durable stream: 0 acked events lost, none handled twice', async () => {
    const { durablePair } = await import(peersPath);
    const pair = await durablePair(`http://127.0.0.1:${port}/mesh/durable`, WebSocket);
    try {
      const accepted = [];
      for (let i = 0; i < 300; i++) accepted.push(pair.emit(i));
      await until(() => pair.got.length > 0, 'the stream to start');
      await mf.dispose(); // the Worker and its Durable Object go away mid-stream
      for (let i = 300; i < 600; i++) accepted.push(pair.emit(i));
      await Promise.all(accepted); // every emit was accepted while the hub was down
      mf = new Miniflare(hubOptions); // same port, same persist dir
      await mf.ready;
      await until(() => pair.got.length >= 600, 'all 600 after the restart', 30_000);
      await new Promise((r) => setTimeout(r, 300));
      deepStrictEqual(pair.got, Array.from({ length: 600 }, (_, i) => i));
      await until(() => pair.depth() === 0, 'the outbox to drain');
    } finally {
      await pair.close();
    }
  });

  test("the workerd hub's durable log (Durable Object storage) survives a restart: a receiver catches up while its sender is offline", async () => {
    const { awayAndBack } = await import(peersPath);
    const peers = awayAndBack(`http://127.0.0.1:${port}/mesh/letters`, WebSocket);
    try {
      await peers.startReceiver();
      await peers.startSender();
      await peers.emit(0);
      await until(() => peers.got.length === 1, 'the first letter');
      await peers.stopReceiver(); // it leaves; the sender remembers its stream
      await until(() => !peers.senderKnows(), 'the sender to hear the goodbye');
      for (let i = 1; i <= 40; i++) await peers.emit(i);
      // The sender hands the hub its copies; the hub's log must hold them before both go away.
      const logged = () => fetch(`http://127.0.0.1:${port}/mesh/letters/test/logged/away-receiver`).then((r) => r.json()).then((r) => r.frames);
      await until(async () => (await logged()) >= 40, 'the hub to log the 40 letters');
      await peers.stopSender(); // offline too: only the hub's log has them now
      await mf.dispose(); // and the hub restarts: the log is in Durable Object storage
      mf = new Miniflare(hubOptions);
      await mf.ready;
      await peers.startReceiver();
      await until(() => peers.got.length >= 41, 'the receiver to catch up from the log', 20_000);
      deepStrictEqual(peers.got, Array.from({ length: 41 }, (_, i) => i));
    } finally {
      await peers.close();
    }
  });

  for (const t of tests) {
    if (filter && !t.name.includes(filter)) continue;
    const t0 = Date.now();
    try {
      await t.fn();
      record(t.name, true, Date.now() - t0);
    } catch (error) {
      record(t.name, false, Date.now() - t0, error instanceof Error ? error.message : String(error));
    }
  }
} catch (error) {
  record('mesh › cross-runtime setup', false, 0, error instanceof Error ? `${error.message}${denos.at(-1) ? ` | deno: ${denos.at(-1).stderr().slice(-500)}` : ''}` : String(error));
} finally {
  for (const d of denos) d.child.kill('SIGKILL');
  await browser?.close();
  pageServer?.close();
  await mf?.dispose().catch(() => {});
  await rm(workDir, { recursive: true, force: true });
}

await mkdir(resultsDir, { recursive: true });
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
await writeFile(join(resultsDir, 'mesh.json'), JSON.stringify({ runner: 'mesh', passed, failed, results }, null, 2) + '\n');
console.log(`mesh: ${passed}/${results.length} passed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
process.exit(failed === 0 && (passed > 0 || filter) ? 0 : 1);
