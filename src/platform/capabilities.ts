import { detectRuntime, type RuntimeHints, type RuntimeKind } from './runtime.ts';

/** What the current runtime offers; adapters check these instead of probing globals themselves. */
export interface Capabilities {
  runtime: RuntimeKind;
  broadcastChannel: boolean;
  indexedDB: boolean;
  webLocks: boolean;
  webSocket: boolean;
  fetch: boolean;
  /** Web Crypto can generate and use Ed25519 keys (otherwise use @noble/ed25519). */
  webCryptoEd25519: boolean;
}

const scope = globalThis as Record<string, any>;

/** Whether `BroadcastChannel` exists here (browsers, Deno and Node have it; workerd does not). */
export function hasBroadcastChannel(): boolean {
  return typeof scope.BroadcastChannel === 'function';
}

/** The part of the Web Locks `LockManager` Happen uses, declared here because Deno's types lack the API. */
export interface WebLocks {
  request(name: string, options: { signal?: AbortSignal }, callback: (lock: unknown) => Promise<void> | undefined): Promise<unknown>;
}

/** The Web Locks manager when the runtime has one (browser pages and workers; not Deno, Node or workerd). */
export function webLocks(): WebLocks | undefined {
  const locks = scope.navigator?.locks as WebLocks | undefined;
  return typeof locks?.request === 'function' ? locks : undefined;
}

/** Whether the Web Locks API is available (see {@link webLocks}). */
export function hasWebLocks(): boolean {
  return webLocks() !== undefined;
}

let ed25519Probe: Promise<boolean> | undefined;

/** Whether Web Crypto supports Ed25519 here; probed once by generating a throwaway key. */
export function hasWebCryptoEd25519(): Promise<boolean> {
  return (ed25519Probe ??= (async () => {
    try {
      const subtle = scope.crypto?.subtle as SubtleCrypto | undefined;
      if (!subtle) return false;
      const keys = (await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
      const data = new Uint8Array([1, 2, 3]);
      const signature = await subtle.sign({ name: 'Ed25519' }, keys.privateKey, data);
      return await subtle.verify({ name: 'Ed25519' }, keys.publicKey, signature, data);
    } catch {
      return false;
    }
  })());
}

/** Detects the runtime and its capabilities. */
export async function capabilities(hints?: RuntimeHints): Promise<Capabilities> {
  return {
    runtime: detectRuntime(hints),
    broadcastChannel: hasBroadcastChannel(),
    indexedDB: typeof scope.indexedDB === 'object' && scope.indexedDB !== null,
    webLocks: hasWebLocks(),
    webSocket: typeof scope.WebSocket === 'function',
    fetch: typeof scope.fetch === 'function',
    webCryptoEd25519: await hasWebCryptoEd25519(),
  };
}
