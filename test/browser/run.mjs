#!/usr/bin/env node
/**
 * Runs the conformance suite, unchanged, in real Chromium in three contexts (page, dedicated Worker,
 * Service Worker) via playwright-core and the system Chromium. Usage:
 *   node test/browser/run.mjs [--filter <substring>]     (or env HAPPEN_TEST_FILTER)
 * Prints `PASS|FAIL [chromium:<context>] <name>` per result, writes .test-results/browser.json, and
 * exits 1 unless every result passed. A context that cannot run is recorded as a failed result.
 */
import { access, constants, mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { browserOnlyTests } from './browser-only.mjs';
import { busTests } from './bus-tests.mjs';
import { agentTests } from './agent-tests.mjs';
import { durableTests } from './durable-tests.mjs';
import { workflowTests } from './workflow-tests.mjs';
import { examplesTests } from './examples-tests.mjs';
import { dashboardTests } from './dashboard-tests.mjs';
import { startServer } from './serve.mjs';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const resultsFile = `${repoRoot}.test-results/browser.json`;
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CONTEXT_TIMEOUT_MS = 60_000;
/** How many browser-only tests run at once (HAPPEN_BROWSER_LANES overrides). */
const BROWSER_ONLY_LANES = Number(process.env.HAPPEN_BROWSER_LANES) || 4;

const CONTEXTS = [
  { runtime: 'chromium:page', expected: 'browser-window', run: runInPage },
  { runtime: 'chromium:worker', expected: 'dedicated-worker', run: runInWorker },
  { runtime: 'chromium:service-worker', expected: 'service-worker', run: runInServiceWorker },
];

function parseFilter(argv) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--filter') return argv[i + 1] || undefined;
    if (argv[i].startsWith('--filter=')) return argv[i].slice('--filter='.length) || undefined;
  }
  return process.env.HAPPEN_TEST_FILTER || undefined;
}

// Each run* returns `{ results, uncaught }` from inside the browser; errors thrown mean "could not run".
async function runInPage(page, origin, expected, filter) {
  await page.goto(`${origin}/page.html`);
  await page.waitForFunction(() => window.happen || window.happenLoadError, null, { timeout: 0 });
  const loadError = await page.evaluate(() => window.happenLoadError);
  if (loadError) throw new Error(`page.js failed to load: ${loadError}`);
  const results = await page.evaluate(
    ({ expected, filter }) => window.happen.runSuite(expected, filter ? { filter } : {}),
    { expected, filter },
  );
  return { results, uncaught: [] }; // the page's uncaught errors arrive as `pageerror` events
}

async function runInWorker(page, origin, expected, filter) {
  await page.goto(`${origin}/host.html`);
  return page.evaluate(
    ({ expected, filter }) =>
      new Promise((resolve, reject) => {
        const worker = new Worker('/worker.js');
        // worker-entry swallows errors once loaded, so an error here means it failed to load or start.
        worker.onerror = (e) => reject(new Error(`worker.js failed to load or start: ${e.message || 'load error'}`));
        const channel = new MessageChannel();
        channel.port1.onmessage = (e) => resolve(e.data);
        worker.postMessage({ expected, filter }, [channel.port2]);
      }),
    { expected, filter },
  );
}

async function runInServiceWorker(page, origin, expected, filter) {
  await page.goto(`${origin}/host.html`);
  return page.evaluate(async ({ expected, filter }) => {
    const registration = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    const pending = registration.installing || registration.waiting || registration.active;
    if (pending.state !== 'activated') {
      await new Promise((resolve, reject) => {
        pending.addEventListener('statechange', () => {
          if (pending.state === 'activated') resolve();
          if (pending.state === 'redundant') reject(new Error('sw.js became redundant (install or activate failed)'));
        });
      });
    }
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = (e) => resolve(e.data);
      pending.postMessage({ expected, filter }, [channel.port2]);
    });
  }, { expected, filter });
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000}s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const failure = (runtime, cause) => ({ runtime, name: `runner › ${runtime}`, ok: false, ms: 0, error: cause });
const oneLine = (text) => String(text).replace(/\s*\n\s*/g, ' | ');

/** Runs one context in its own browser context (separate storage, so contexts cannot interfere). */
async function runContext(browser, origin, { runtime, expected, run }, filter) {
  const context = await browser.newContext();
  const failures = [];
  const log = (kind, text) => console.log(`[${runtime}] ${kind}: ${oneLine(text)}`);
  // Covers the page and both worker kinds (playwright-core routes worker console messages here too).
  context.on('console', (msg) => msg.type() === 'error' && log('console.error', msg.text()));
  try {
    const page = await context.newPage();
    // Dedicated-worker errors also surface here, but worker-entry already reports those (and the
    // service worker's, which never reach the page), so only the page context records them.
    page.on('pageerror', (error) => {
      log('pageerror', error.stack || error.message);
      if (runtime === 'chromium:page') failures.push(failure(runtime, `uncaught page error: ${error.message}`));
    });
    page.on('crash', () => failures.push(failure(runtime, 'page crashed')));
    const reply = await withTimeout(run(page, origin, expected, filter), CONTEXT_TIMEOUT_MS, runtime);
    if (reply.error) failures.push(failure(runtime, reply.error));
    for (const cause of reply.uncaught ?? []) failures.push(failure(runtime, cause));
    const results = (reply.results ?? []).map((r) => ({ runtime, ...r }));
    // Zero results is a failure unless a filter legitimately matched nothing in this runner.
    if (results.length === 0 && failures.length === 0 && !filter) failures.push(failure(runtime, 'no tests ran'));
    return [...results, ...failures];
  } catch (error) {
    return [...failures, failure(runtime, oneLine(error?.message ?? error))];
  } finally {
    await context.close().catch(() => {});
  }
}

/**
 * Runs each browser-only test in its own browser context; a throw is its failure, and a string it
 * returns is a note (a measurement) kept with its result. A test may raise its time limit (`timeoutMs`).
 */
async function runBrowserOnly(browser, origin, filter) {
  const runtime = 'chromium:page';
  const selected = [...browserOnlyTests, ...busTests, ...durableTests, ...agentTests, ...examplesTests, ...workflowTests, ...dashboardTests].filter((t) => !filter || t.name.includes(filter));
  // A few at a time: all of them side by side (tabs, workers, a hub, IndexedDB) starve a small machine and
  // make timing-sensitive tests flaky. The long ones (by their time limit) start first.
  const queue = [...selected].sort((a, b) => (b.timeoutMs ?? CONTEXT_TIMEOUT_MS) - (a.timeoutMs ?? CONTEXT_TIMEOUT_MS));
  const results = new Map();
  const lane = async () => {
    for (let t = queue.shift(); t; t = queue.shift()) results.set(t, await runOne(t));
  };
  await Promise.all(Array.from({ length: Math.min(BROWSER_ONLY_LANES, queue.length) }, lane));
  return selected.map((t) => results.get(t));

  async function runOne(t) {
    const context = await browser.newContext();
    const started = Date.now();
    try {
      const page = await context.newPage();
      page.on('pageerror', (error) => console.log(`[${runtime}] pageerror: ${oneLine(error.stack || error.message)}`));
      const note = await withTimeout(t.run(page, origin), t.timeoutMs ?? CONTEXT_TIMEOUT_MS, t.name);
      return { runtime, name: t.name, ok: true, ms: Date.now() - started, ...(typeof note === 'string' ? { note } : {}) };
    } catch (error) {
      return { runtime, name: t.name, ok: false, ms: Date.now() - started, error: oneLine(error?.message ?? error) };
    } finally {
      await context.close().catch(() => {});
    }
  }
}

async function main() {
  const filter = parseFilter(process.argv.slice(2));
  const started = Date.now();
  let results = [];
  let browser;
  let server;
  try {
    await access(executablePath, constants.X_OK).catch(() => {
      throw new Error(`Chromium not found at ${executablePath} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
    });
    server = await startServer();
    browser = await chromium.launch({
      executablePath,
      headless: true,
      timeout: 30_000,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    // Separate browser contexts isolate storage, so the three contexts run concurrently.
    const perContext = await Promise.all([
      ...CONTEXTS.map((c) => runContext(browser, server.origin, c, filter)),
      runBrowserOnly(browser, server.origin, filter),
    ]);
    results = perContext.flat();
  } catch (error) {
    // Nothing could run (no Chromium, bundling failed, launch failed): every context fails with the cause.
    const cause = oneLine(error?.message ?? error);
    results = CONTEXTS.map((c) => failure(c.runtime, cause));
  } finally {
    await browser?.close().catch(() => {});
    await server?.close().catch(() => {});
  }

  for (const r of results) {
    console.log(r.ok ? `PASS [${r.runtime}] ${r.name}${r.note ? ` (${r.note})` : ''}` : `FAIL [${r.runtime}] ${r.name}: ${oneLine(r.error)}`);
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  await mkdir(`${repoRoot}.test-results`, { recursive: true });
  await writeFile(resultsFile, `${JSON.stringify({ runner: 'browser', passed, failed, results }, null, 2)}\n`);
  console.log(`browser: ${passed} passed, ${failed} failed in ${((Date.now() - started) / 1000).toFixed(1)}s -> ${resultsFile}`);
  process.exitCode = failed === 0 && (passed > 0 || filter) ? 0 : 1;
}

await main();
