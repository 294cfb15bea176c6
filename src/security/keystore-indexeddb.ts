/** `happen/security/indexeddb`: node identities kept in IndexedDB, private keys as non-extractable CryptoKeys. */
import { openDB, type IDBPDatabase } from 'idb';
import { HappenError } from '../core/errors.ts';
import { fromStorable, toStorable, type Identity, type StorableIdentity } from './identity.ts';
import type { KeyStore } from './security.ts';

const STORE = 'identities';

/** Options for {@link indexedDbKeyStore}. */
export interface IndexedDbKeyStoreOptions {
  /** Database name (default `happen-identities`). */
  name?: string;
}

/**
 * A {@link KeyStore} on IndexedDB. IndexedDB stores a CryptoKey by structured clone, so a
 * non-extractable private key survives reloads without its bytes ever being readable by script.
 * The database opens on first use; where IndexedDB is missing or blocked (some private windows) every
 * call fails with a `runtime` STORAGE_UNAVAILABLE error instead of silently losing the identity.
 */
export function indexedDbKeyStore(options: IndexedDbKeyStoreOptions = {}): KeyStore {
  const name = options.name ?? 'happen-identities';
  let db: Promise<IDBPDatabase> | undefined;
  const open = () => {
    if (typeof indexedDB === 'undefined') return Promise.reject(unavailable(name, 'IndexedDB is not available here'));
    db ??= openDB(name, 1, { upgrade: (d) => void d.createObjectStore(STORE) }).catch((error) => {
      db = undefined;
      throw unavailable(name, (error as Error).message);
    });
    return db;
  };
  return {
    async load(nodeId) {
      const stored = (await (await open()).get(STORE, nodeId)) as StorableIdentity | undefined;
      return stored === undefined ? undefined : fromStorable(stored);
    },
    async save(nodeId, identity: Identity) {
      await (await open()).put(STORE, toStorable(identity), nodeId);
    },
  };
}

function unavailable(name: string, why: string): HappenError {
  return new HappenError('runtime', 'STORAGE_UNAVAILABLE', `Cannot open IndexedDB database "${name}": ${why}`);
}
