/**
 * The storage scenarios inside a Chromium page: the IndexedDB log against idb's own batched puts
 * (the baseline), and against plain IndexedDB requests with no promise wrapper at all.
 */
import { deleteDB, openDB, unwrap, type IDBPDatabase } from 'idb';
import { indexedDbStorage } from '../src/storage/indexeddb.ts';
import type { Storage } from '../src/storage/index.ts';
import type { ScenarioResult } from './harness.ts';
import { runStorageScenarios, type Backend } from './storage.ts';

const BATCH = 400; // the log's own batch size: the same number of transactions on both sides

function indexedDbBackend(): Backend {
  let storage: Storage | undefined;
  let raw: IDBPDatabase | undefined;
  return {
    raw: [
      {
        name: 'idb put, batched',
        async write(events) {
          for (let i = 0; i < events.length; i += BATCH) {
            const tx = raw!.transaction('s', 'readwrite');
            for (const [key, event] of events.slice(i, i + BATCH)) void tx.store.put(event, key);
            await tx.done;
          }
        },
      },
      {
        name: 'IDBObjectStore.put, batched',
        async write(events) {
          for (let i = 0; i < events.length; i += BATCH) {
            const tx = raw!.transaction('s', 'readwrite');
            const store = unwrap(tx.store);
            for (const [key, event] of events.slice(i, i + BATCH)) store.put(event, key);
            await tx.done;
          }
        },
      },
    ],
    rounds: 11,
    async fresh() {
      await storage?.close();
      await deleteDB('bench-log');
      storage = indexedDbStorage('bench-log');
      await storage.get('-'); // opens (and creates) the database untimed, as resetRaw does for the raw side
      return storage;
    },
    async resetRaw() {
      raw?.close();
      await deleteDB('bench-raw');
      raw = await openDB('bench-raw', 1, { upgrade: (d) => void d.createObjectStore('s') });
    },
    async readRaw() {
      return (await raw!.getAll('s')).length;
    },
  };
}

(globalThis as { runStorageBench?: () => Promise<ScenarioResult[]> }).runStorageBench = () => runStorageScenarios('IndexedDB', indexedDbBackend());
