import * as noble from '@noble/ed25519';
import { HappenError } from '../core/errors.ts';
import { hasWebCryptoEd25519 } from '../platform/capabilities.ts';
import { fromBase64Url, toBase64Url as base64url } from './encoding.ts';

/** Which Ed25519 implementation performs an operation. */
export type Ed25519BackendName = 'webcrypto' | 'noble';

/** A private key as a backend holds it: a CryptoKey (possibly non-extractable) or a 32-byte seed. */
export type PrivateKeyMaterial = { kind: 'webcrypto'; key: CryptoKey; seed?: Uint8Array } | { kind: 'noble'; seed: Uint8Array };

/** The primitive operations, identical in result whichever backend runs them (Ed25519 is deterministic). */
export interface Ed25519Backend {
  readonly name: Ed25519BackendName;
  /** A new key pair; `extractable` keeps the seed so it can be exported. */
  generate(extractable: boolean): Promise<{ privateKey: PrivateKeyMaterial; publicKey: Uint8Array }>;
  /** The key pair of a 32-byte seed (RFC 8032 private key). */
  fromSeed(seed: Uint8Array, extractable: boolean): Promise<{ privateKey: PrivateKeyMaterial; publicKey: Uint8Array }>;
  sign(privateKey: PrivateKeyMaterial, data: Uint8Array): Promise<Uint8Array>;
  /** False for a bad signature; throws INVALID_KEY for key bytes that are not an Ed25519 public key. */
  verify(publicKey: Uint8Array, signature: Uint8Array, data: Uint8Array): Promise<boolean>;
}

const ALGORITHM = { name: 'Ed25519' } as const;

/** Ed25519 through Web Crypto (native, and the only way to hold a non-extractable key). */
export const webCryptoBackend: Ed25519Backend = {
  name: 'webcrypto',
  async generate(extractable) {
    const pair = (await crypto.subtle.generateKey(ALGORITHM, extractable, ['sign', 'verify'])) as CryptoKeyPair;
    const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    const seed = extractable ? seedOf(await crypto.subtle.exportKey('jwk', pair.privateKey)) : undefined;
    return { privateKey: { kind: 'webcrypto', key: pair.privateKey, ...(seed ? { seed } : {}) }, publicKey };
  },
  async fromSeed(seed, extractable) {
    checkLength(seed, 32, 'An Ed25519 seed');
    const publicKey = await noble.getPublicKeyAsync(seed);
    const jwk = { kty: 'OKP', crv: 'Ed25519', d: base64url(seed), x: base64url(publicKey) };
    const key = await crypto.subtle.importKey('jwk', jwk, ALGORITHM, extractable, ['sign']).catch((e) => {
      throw invalidKey(`Web Crypto rejected the seed: ${(e as Error).message}`);
    });
    return { privateKey: { kind: 'webcrypto', key, ...(extractable ? { seed: seed.slice() } : {}) }, publicKey };
  },
  async sign(privateKey, data) {
    if (privateKey.kind !== 'webcrypto') throw foreignKey('webcrypto');
    return new Uint8Array(await crypto.subtle.sign(ALGORITHM, privateKey.key, data as BufferSource));
  },
  async verify(publicKey, signature, data) {
    const key = await importPublicKey(publicKey);
    if (signature.length !== 64) return false;
    return crypto.subtle.verify(ALGORITHM, key, signature as BufferSource, data as BufferSource);
  },
};

/** Ed25519 in JavaScript (@noble/ed25519), for runtimes whose Web Crypto lacks it. */
export const nobleBackend: Ed25519Backend = {
  name: 'noble',
  async generate() {
    const { secretKey, publicKey } = await noble.keygenAsync();
    return { privateKey: { kind: 'noble', seed: secretKey }, publicKey };
  },
  async fromSeed(seed) {
    checkLength(seed, 32, 'An Ed25519 seed');
    return { privateKey: { kind: 'noble', seed: seed.slice() }, publicKey: await noble.getPublicKeyAsync(seed) };
  },
  async sign(privateKey, data) {
    if (privateKey.kind !== 'noble') throw foreignKey('noble');
    return noble.signAsync(data, privateKey.seed);
  },
  async verify(publicKey, signature, data) {
    checkLength(publicKey, 32, 'An Ed25519 public key');
    if (signature.length !== 64) return false;
    try {
      return await noble.verifyAsync(signature, data, publicKey);
    } catch (error) {
      throw invalidKey(`not a valid Ed25519 public key (${(error as Error).message})`);
    }
  },
};

let chosen: Promise<Ed25519Backend> | undefined;

/** The backend for this runtime: Web Crypto when it supports Ed25519, else noble. Probed once, lazily. */
export function defaultBackend(): Promise<Ed25519Backend> {
  return (chosen ??= hasWebCryptoEd25519().then((native) => (native ? webCryptoBackend : nobleBackend)));
}

/** Looks up a backend by name. */
export function backendNamed(name: Ed25519BackendName): Ed25519Backend {
  return name === 'webcrypto' ? webCryptoBackend : nobleBackend;
}

// Imported public keys are reused: importKey costs about as much as a verify.
const publicKeys = new Map<string, Promise<CryptoKey>>();

function importPublicKey(publicKey: Uint8Array): Promise<CryptoKey> {
  checkLength(publicKey, 32, 'An Ed25519 public key');
  const id = base64url(publicKey);
  let key = publicKeys.get(id);
  if (!key) {
    if (publicKeys.size >= 1024) publicKeys.clear();
    key = crypto.subtle.importKey('raw', publicKey as BufferSource, ALGORITHM, true, ['verify']).catch((e) => {
      publicKeys.delete(id);
      throw invalidKey(`not a valid Ed25519 public key (${(e as Error).message})`);
    });
    publicKeys.set(id, key);
  }
  return key;
}

function seedOf(jwk: JsonWebKey): Uint8Array {
  return fromBase64Url(jwk.d!, 'JWK d');
}

/** Throws INVALID_KEY unless `bytes` is a Uint8Array of `length` bytes. */
export function checkLength(bytes: unknown, length: number, what: string): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw invalidKey(`${what} must be ${length} bytes (got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes})`);
  }
}

// Identities always pair key material with the backend that made it; anything else is a misuse.
function foreignKey(backend: Ed25519BackendName): HappenError {
  return invalidKey(`This private key was not made by the ${backend} backend`);
}

function invalidKey(message: string): HappenError {
  return new HappenError('security', 'INVALID_KEY', message);
}
