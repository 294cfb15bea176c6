/** The storage scenarios inside a Chromium page: the IndexedDB log against idb's own batched puts. */
import { deleteDB, openDB, type IDBPDatabase } from 'idb';
import { indexedDbStorage } from '../src/storage/indexeddb.ts';
import type { Storage } from '../src/storage/index.ts';
import { runScenario, type ScenarioResult } from './harness.ts';
import { storageScenarios, type Backend } from './storage.ts';

const BATCH = 400; // the log's own batch size: the same number of transactions on both sides

function indexedDbBackend(): Backend {
  let storage: Storage | undefined;
  let raw: IDBPDatabase | undefined;
  return {
    rawName: 'idb put, batched',
    async fresh() {
      await storage?.close();
      await deleteDB('bench-log');
      return (storage = indexedDbStorage('bench-log'));
    },
    async resetRaw() {
      raw?.close();
      await deleteDB('bench-raw');
      raw = await openDB('bench-raw', 1, { upgrade: (d) => void d.createObjectStore('s') });
    },
    async writeRaw(events) {
      for (let i = 0; i < events.length; i += BATCH) {
        const tx = raw!.transaction('s', 'readwrite');
        for (const [key, event] of events.slice(i, i + BATCH)) void tx.store.put(event, key);
        await tx.done;
      }
    },
    async readRaw() {
      return (await raw!.getAll('s')).length;
    },
  };
}

(globalThis as { runStorageBench?: () => Promise<ScenarioResult[]> }).runStorageBench = async () => {
  const results: ScenarioResult[] = [];
  for (const s of storageScenarios('IndexedDB', indexedDbBackend())) results.push(await runScenario(s));
  return results;
};
