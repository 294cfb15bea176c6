/**
 * Browser-only scenarios: code that needs what only a browser has (IndexedDB across a reload). The
 * runner calls these from `browser-only.mjs` through `window.scenarios`, between page reloads.
 */
import { createHappen } from '../../src/index.ts';
import { security, toBase64Url, verifyEvent, webCryptoBackend, nobleBackend, fromBase64Url } from '../../src/security/index.ts';
import { indexedDbKeyStore } from '../../src/security/keystore-indexeddb.ts';

/** Signs one event with the node's stored (or new) identity; reports its key and the event. */
async function signWithStoredIdentity(dbName: string) {
  const sec = security({ level: 'low', keyStore: indexedDbKeyStore({ name: dbName }) });
  const happen = createHappen({ extensions: [sec] });
  const node = happen.createNode('tab');
  const identity = await sec.identityOf('tab');
  const event = node.broadcast({ type: 'tab.opened', payload: { at: 'now' } });
  await happen.settled();
  return { publicKey: toBase64Url(identity.publicKey), extractable: identity.extractable, backend: identity.backend, event };
}

/** Verifies an event against a base64url public key with both backends. */
async function verifyWith(event: never, publicKey: string) {
  const key = fromBase64Url(publicKey);
  await verifyEvent(event, key, webCryptoBackend);
  await verifyEvent(event, key, nobleBackend);
  return true;
}

/** Whether a store without IndexedDB fails with a typed error. */
async function unavailableStoreError() {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB')!;
  Object.defineProperty(globalThis, 'indexedDB', { value: undefined, configurable: true });
  try {
    await indexedDbKeyStore({ name: 'nowhere' }).load('x');
    return 'no error';
  } catch (error) {
    return `${(error as { category: string }).category}/${(error as { code: string }).code}`;
  } finally {
    Object.defineProperty(globalThis, 'indexedDB', saved);
  }
}

(globalThis as Record<string, unknown>).scenarios = { signWithStoredIdentity, verifyWith, unavailableStoreError };
