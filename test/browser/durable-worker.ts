/**
 * The consumer of the kill test, in a dedicated worker: told `{ system, db, ledger, mesh }`, it joins
 * the mesh as `system`, durable on the IndexedDB database `db`, and its `ledger` node applies every
 * `tick` to the idempotent ledger (`durable-ledger.ts`). It posts `{ started: id }` as each handler
 * begins, so the host page can terminate it mid-handler.
 */
import { createHappen } from '../../src/index.ts';
import { mesh } from '../../src/mesh/index.ts';
import { indexedDbStorage } from '../../src/storage/indexeddb.ts';
import { broadcastChannel } from '../../src/transports/broadcast-channel.ts';
import { openLedger } from './durable-ledger.ts';

self.addEventListener('message', async (e: MessageEvent<{ system: string; db: string; ledger: string; mesh: string }>) => {
  try {
    const { system, db, ledger: ledgerName, mesh: name } = e.data;
    const ledger = await openLedger(ledgerName);
    const link = mesh({
      transports: [broadcastChannel({ mesh: name })],
      heartbeatMs: 200,
      durable: { storage: indexedDbStorage(db), ackTimeoutMs: 150, retry: { initialMs: 10, maxMs: 50 }, maxAttempts: 100_000 },
    });
    const happen = createHappen({ id: system, extensions: [link] });
    happen.createNode('ledger').on('tick', async (event) => {
      self.postMessage({ started: event.id });
      await ledger.apply(event.id, event.payload as number);
    });
    happen.createNode('watch').on('happen.error', (event) => void self.postMessage({ error: JSON.stringify(event.payload) }));
    await link.ready;
  } catch (error) {
    self.postMessage({ error: String((error as Error)?.stack ?? error) });
  }
});
