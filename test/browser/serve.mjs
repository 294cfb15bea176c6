/**
 * Builds the browser bundles in memory with esbuild and serves them from 127.0.0.1 (a secure
 * context, so IndexedDB, BroadcastChannel, Web Locks and service workers are all available).
 */
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { exampleRoutes } from './examples-tests.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));

// The page imports page-entry (the conformance suite plus the IndexedDB adapter suite) as an ES module;
// workers get one classic script (IIFE), which a service worker can always load and in which any
// dynamic import() is inlined by esbuild.
async function bundle(entry, format) {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    absWorkingDir: here,
    bundle: true,
    format,
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

// The page records the module's load failure instead of leaving the runner waiting for it.
const PAGE_HTML = `<!doctype html><meta charset="utf-8"><title>happen conformance</title>
<script type="module">
import('/page.js').then((m) => { window.happen = m; }, (e) => { window.happenLoadError = String(e && e.stack || e); });
</script>`;
const SCENARIOS_HTML = `<!doctype html><meta charset="utf-8"><title>happen browser-only</title>
<script type="module">
import('/scenarios.js').catch((e) => { window.scenariosLoadError = String(e && e.stack || e); });
</script>`;
const BUS_HTML = `<!doctype html><meta charset="utf-8"><title>happen bus</title>
<script type="module">
import('/bus.js').catch((e) => { window.busLoadError = String(e && e.stack || e); });
</script>`;
const MESH_HTML = BUS_HTML.replaceAll('bus', 'mesh');
const DURABLE_HTML = BUS_HTML.replaceAll('bus', 'durable');
const AGENT_HTML = BUS_HTML.replaceAll('bus', 'agent');
const WORKFLOW_HTML = BUS_HTML.replaceAll('bus', 'workflow');
const BLANK_HTML = '<!doctype html><meta charset="utf-8"><title>happen worker host</title>';

// The mesh extension is written alongside this transport: if it does not bundle, only the mesh test fails.
const bundleOrReport = (entry, format) =>
  bundle(entry, format).catch((error) => `window.meshLoadError = ${JSON.stringify(`${entry} did not bundle: ${error.message}`)};`);

/** Bundles, then serves; resolves to `{ origin, close() }`. Throws if bundling fails. */
export async function startServer() {
  const [pageJs, workerJs, scenariosJs, busJs, busWorkerJs, meshJs, durableJs, durableWorkerJs, agentJs, agentWorkerJs, workflowJs] = await Promise.all([
    bundle('./page-entry.ts', 'esm'),
    bundle('./worker-entry.ts', 'iife'),
    bundle('./scenarios.ts', 'esm'),
    bundle('./bus-entry.ts', 'esm'),
    bundle('./bus-worker.ts', 'iife'),
    bundleOrReport('./mesh-entry.ts', 'esm'),
    bundle('./durable-entry.ts', 'esm'),
    bundle('./durable-worker.ts', 'iife'),
    bundle('./agent-entry.ts', 'esm'),
    bundle('./agent-worker.ts', 'iife'),
    bundle('./workflow-entry.ts', 'esm'),
  ]);
  const examples = await exampleRoutes(); // examples/chat and examples/todo as they ship, under /examples/<name>/
  const files = {
    '/page.html': ['text/html', PAGE_HTML],
    '/host.html': ['text/html', BLANK_HTML],
    '/page.js': ['text/javascript', pageJs],
    '/worker.js': ['text/javascript', workerJs],
    '/sw.js': ['text/javascript', workerJs],
    '/scenarios.html': ['text/html', SCENARIOS_HTML],
    // Any origin may load it: the sandboxed page's import() of it is a CORS request from origin `null`.
    '/scenarios.js': ['text/javascript', scenariosJs, { 'access-control-allow-origin': '*' }],
    // The scenarios in an opaque origin (what a sandboxed iframe gets): Chromium refuses it IndexedDB.
    // The BroadcastChannel transport's probe (one per tab) and a worker on the same bus.
    '/bus.html': ['text/html', BUS_HTML],
    '/bus.js': ['text/javascript', busJs],
    '/bus-worker.js': ['text/javascript', busWorkerJs],
    '/mesh.html': ['text/html', MESH_HTML],
    '/mesh.js': ['text/javascript', meshJs],
    // Durable delivery across tabs and a consumer worker killed mid-handler (durable-tests.mjs).
    '/durable.html': ['text/html', DURABLE_HTML],
    '/durable.js': ['text/javascript', durableJs],
    '/durable-worker.js': ['text/javascript', durableWorkerJs],
    // The programs-of-programs flow: a tab's UI, an agent and a database in a worker (agent-tests.mjs).
    '/agent.html': ['text/html', AGENT_HTML],
    '/agent.js': ['text/javascript', agentJs],
    '/agent-worker.js': ['text/javascript', agentWorkerJs],
    // A workflow on IndexedDB that sleeps across a reload (workflow-tests.mjs).
    '/workflow.html': ['text/html', WORKFLOW_HTML],
    '/workflow.js': ['text/javascript', workflowJs],
    '/sandboxed.html': ['text/html', SCENARIOS_HTML, { 'content-security-policy': 'sandbox allow-scripts' }],
    ...examples,
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    // Chromium asks for a favicon; answering 404 would print a misleading console error.
    if (path === '/favicon.ico') return res.writeHead(204).end();
    const file = files[path];
    if (!file) return res.writeHead(404).end('not found');
    const headers = { 'content-type': `${file[0]}; charset=utf-8`, 'cache-control': 'no-store', ...file[2] };
    res.writeHead(200, headers).end(file[1]);
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}
