/**
 * The dispatch scenarios again, in Debian's Chromium: browsers are where most nodes live, and their
 * EventTarget is native code with costs unlike Node's. Skipped with a note when Chromium is missing.
 */
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import type { ScenarioResult } from './harness.ts';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** Runs the dispatch scenarios in a Chromium page; undefined when Chromium is not installed. */
export async function runInChromium(): Promise<ScenarioResult[] | undefined> {
  if (!existsSync(CHROMIUM)) return undefined;
  const bundle = await build({ entryPoints: [new URL('./browser-entry.ts', import.meta.url).pathname], bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'error' });
  const js = bundle.outputFiles[0]!.text;
  const server = createServer((req, res) => {
    if (req.url === '/bench.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/bench.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'runDispatchBench' in globalThis);
    return await page.evaluate(() => (globalThis as unknown as { runDispatchBench: () => Promise<ScenarioResult[]> }).runDispatchBench());
  } finally {
    await browser.close();
    server.close();
  }
}
