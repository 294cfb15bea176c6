/**
 * The page's bundle: the conformance suite plus what only a browser adds to it, the IndexedDB
 * storage adapter (each `open` gets a fresh database, so every test starts empty and isolated).
 */
import { adapterSuite } from '../conformance/storage-adapter.ts';
import { persistenceSuite } from '../conformance/persistence.ts';
import { indexedDbStorage } from '../../src/storage/indexeddb.ts';

export { runSuite } from '../conformance/runtime-entry.ts';

adapterSuite('indexeddb', async () => indexedDbStorage(`happen-test-${crypto.randomUUID()}`));
persistenceSuite('indexeddb', async () => indexedDbStorage(`happen-test-${crypto.randomUUID()}`));
