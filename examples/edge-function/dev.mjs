#!/usr/bin/env node
/**
 * Runs the edge function locally in workerd (miniflare), on loopback, printing its URL and a few
 * requests to try. The Worker is bundled with esbuild exactly as the edge tests bundle it.
 *   node examples/edge-function/dev.mjs [--port 8787]        (npm run example:edge)
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';

/** Bundles worker.ts for workerd (in memory) and returns the module's code. */
export async function bundleEdgeFunction() {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./worker.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    external: ['cloudflare:*'],
    target: 'es2022',
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

/** Miniflare options running that code (with wrangler.toml's compatibility date); nothing is written to disk. */
export const miniflareOptions = (code, extra = {}) => ({
  modules: [{ type: 'ESModule', path: 'edge-function.mjs', contents: code }],
  compatibilityDate: '2026-04-01',
  ...extra,
});

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === (await import('node:fs')).realpathSync(process.argv[1]);
if (isMain) {
  const args = process.argv.slice(2);
  const portArg = args.includes('--port') ? args[args.indexOf('--port') + 1] : '8787';
  const port = Number(portArg);
  if (!Number.isInteger(port) || port < 0 || port > 65_535 || args.some((a) => a.startsWith('--') && a !== '--port')) {
    console.error(`usage: node examples/edge-function/dev.mjs [--port N]${Number.isInteger(port) ? '' : ` (bad --port "${portArg}")`}`);
    process.exit(2);
  }
  let mf;
  const stop = () => void mf?.dispose().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    mf = new Miniflare(miniflareOptions(await bundleEdgeFunction(), { host: '127.0.0.1', port }));
    const url = String(await mf.ready).replace(/\/$/, '');
    console.log(`edge function (workerd): ${url}  (Ctrl-C stops)
  curl ${url}/catalog
  curl -X POST ${url}/quote -H 'content-type: application/json' -d '{"items":[{"sku":"MUG-1","qty":2}],"coupon":"EDGE10"}'
  curl -X POST ${url}/quote -H 'content-type: application/json' -d '{"items":[{"sku":"MUG-1","qty":0}]}'    # 400`);
  } catch (error) {
    console.error(`edge function: ${String(error?.message ?? error).split('\n')[0]}`);
    process.exit(1);
  }
}
