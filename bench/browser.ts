/**
 * Scenarios in Debian's Chromium: dispatch again (browsers are where most nodes live, and their
 * EventTarget is native code with costs unlike Node's) and the IndexedDB log. Skipped with a note
 * when Chromium is missing.
 */
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import type { ScenarioResult } from './harness.ts';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

const bundle = async (entry: string) =>
  (await build({ entryPoints: [new URL(`./${entry}`, import.meta.url).pathname], bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'error' })).outputFiles[0]!.text;

/**
 * Runs scenarios in a Chromium page: `entry` (a file in bench/) defines the global function `run`
 * that returns their results; `worker` (a file in bench/), when given, is served as `/worker.js` for
 * the page to start as a module worker. Undefined when Chromium is not installed.
 */
export async function runInChromium(entry = 'browser-entry.ts', run = 'runDispatchBench', worker?: string): Promise<ScenarioResult[] | undefined> {
  if (!existsSync(CHROMIUM)) return undefined;
  const js = await bundle(entry);
  const workerJs = worker ? await bundle(worker) : undefined;
  const server = createServer((req, res) => {
    if (req.url === '/bench.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    if (req.url === '/worker.js' && workerJs) return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(workerJs);
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/bench.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction((name) => name in globalThis, run);
    return await page.evaluate((name) => (globalThis as unknown as Record<string, () => Promise<ScenarioResult[]>>)[name]!(), run);
  } finally {
    await browser.close();
    server.close();
  }
}
