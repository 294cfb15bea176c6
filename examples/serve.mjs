#!/usr/bin/env node
/**
 * Serves a browser example on loopback: bundles its TypeScript with esbuild (in memory) and serves
 * its index.html, printing the URL. 127.0.0.1 is a secure context, so IndexedDB, BroadcastChannel,
 * Web Locks and workers all work.
 *   node examples/serve.mjs chat [--port 8700]      (npm run example:chat)
 *   node examples/serve.mjs todo [--port 8701]      (npm run example:todo)
 * Each example has a fixed default port because what the page keeps (IndexedDB) belongs to its origin,
 * port included: the same port next time finds the same history. `--port 0` picks a free one.
 * test/browser/serve.mjs mounts the same files under /examples/<name>/ for the Chromium tests.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The browser examples: for each, the bundles it serves next to its index.html (name → entry, format). */
export const BROWSER_EXAMPLES = {
  chat: { 'chat.js': ['chat.ts', 'esm'] },
  // The store's worker is a classic script (IIFE): `new Worker(url)` without `{ type: 'module' }`.
  todo: { 'todo.js': ['todo.ts', 'esm'], 'store-worker.js': ['store-worker.ts', 'iife'] },
};
const DEFAULT_PORTS = { chat: 8700, todo: 8701 };

async function bundle(file, format) {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(file, import.meta.url))],
    bundle: true,
    format,
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

/**
 * The files of one example as `{ path: [contentType, body] }`, paths starting with `/` (`/` and
 * `/index.html` are the page). Throws with esbuild's message when a bundle does not build.
 */
export async function exampleFiles(name) {
  const bundles = BROWSER_EXAMPLES[name];
  if (!bundles) throw new Error(`unknown example "${name}" (choose from ${Object.keys(BROWSER_EXAMPLES).join(', ')})`);
  const html = await readFile(new URL(`./${name}/index.html`, import.meta.url), 'utf8');
  const files = { '/': ['text/html', html], '/index.html': ['text/html', html] };
  await Promise.all(
    Object.entries(bundles).map(async ([out, [entry, format]]) => {
      files[`/${out}`] = ['text/javascript', await bundle(`./${name}/${entry}`, format)];
    }),
  );
  return files;
}

/** Serves `files` (as {@link exampleFiles} returns them) on `host:port`; resolves to `{ url, close }`. */
export async function serveFiles(files, { port = 0, host = '127.0.0.1' } = {}) {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/favicon.ico') return res.writeHead(204).end();
    const file = files[path];
    if (!file) return res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    res.writeHead(200, { 'content-type': `${file[0]}; charset=utf-8`, 'cache-control': 'no-store' }).end(file[1]);
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return {
    url: `http://${host}:${server.address().port}/`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

const isMain = process.argv[1] && fileURLToPath(import.meta.url) === (await import('node:fs')).realpathSync(process.argv[1]);
if (isMain) {
  const args = process.argv.slice(2);
  const name = args.find((a) => !a.startsWith('--'));
  const portArg = args.includes('--port') ? args[args.indexOf('--port') + 1] : String(DEFAULT_PORTS[name] ?? 0);
  const port = Number(portArg);
  if (!name || !BROWSER_EXAMPLES[name] || !Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`usage: node examples/serve.mjs <${Object.keys(BROWSER_EXAMPLES).join('|')}> [--port N]${name && !BROWSER_EXAMPLES[name] ? ` (unknown example "${name}")` : ''}${Number.isInteger(port) && port >= 0 && port <= 65_535 ? '' : ` (bad --port "${portArg}")`}`);
    process.exit(2);
  }
  try {
    const { url } = await serveFiles(await exampleFiles(name), { port });
    console.log(`${name} example: ${url}  (open it in two tabs; Ctrl-C stops)`);
  } catch (error) {
    const why = error.code === 'EADDRINUSE' ? `port ${port} is in use (pass --port N, or --port 0 for any free port)` : error.message.split('\n')[0];
    console.error(`example ${name}: ${why}`);
    process.exit(1);
  }
}
