/**
 * The suite inside a dedicated Worker or a Service Worker (one classic-script bundle serves both).
 * The page posts `{ expected, filter }` with a MessagePort; the results come back on that port, so
 * the same reply path works in both worker kinds.
 */
import { runSuite } from '../conformance/runtime-entry.ts';
import { adapterSuite } from '../conformance/storage-adapter.ts';
import { persistenceSuite } from '../conformance/persistence.ts';
import type { RuntimeKind } from '../../src/platform/index.ts';
import { indexedDbStorage } from '../../src/storage/indexeddb.ts';

// Workers have IndexedDB too: the adapter suite runs here as in the page (a fresh database per test).
adapterSuite('indexeddb', async () => indexedDbStorage(`happen-test-${crypto.randomUUID()}`));
persistenceSuite('indexeddb', async () => indexedDbStorage(`happen-test-${crypto.randomUUID()}`));

interface RunRequest {
  expected: RuntimeKind;
  filter?: string;
}

// Errors nothing caught would otherwise vanish inside the worker: report them with the results.
const uncaught: string[] = [];
// preventDefault keeps it from reaching the page's Worker.onerror, which the runner reads as "failed to load".
self.addEventListener('error', (event: ErrorEvent) => {
  uncaught.push(`uncaught error: ${event.message}`);
  event.preventDefault();
});
self.addEventListener('unhandledrejection', (event: PromiseRejectionEvent) => {
  const reason: unknown = event.reason;
  uncaught.push(`unhandled rejection: ${reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)}`);
});

self.addEventListener('message', (event: MessageEvent<RunRequest>) => {
  const port = event.ports[0];
  if (!port) return;
  const { expected, filter } = event.data;
  const done = runSuite(expected, filter ? { filter } : {})
    // Let errors thrown by the last test's leftover timers land before replying.
    .then((results) => new Promise((resolve) => setTimeout(resolve, 20)).then(() => port.postMessage({ results, uncaught })))
    .catch((error: unknown) => port.postMessage({ error: `runSuite threw: ${String(error)}`, uncaught }));
  // A service worker may be stopped between events; keep it alive until the suite has replied.
  (event as MessageEvent & { waitUntil?: (promise: Promise<unknown>) => void }).waitUntil?.(done);
});
