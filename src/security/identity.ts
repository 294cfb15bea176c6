import { HappenError } from '../core/errors.ts';
import { backendNamed, checkLength, defaultBackend, type Ed25519Backend, type Ed25519BackendName, type PrivateKeyMaterial } from './ed25519.ts';
import { fromBase64Url, toBase64Url } from './encoding.ts';

/** An Ed25519 key pair that signs for a node. */
export interface Identity {
  /** The 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** Short id of the public key carried in signatures: base64url of its first 16 bytes. */
  readonly keyId: string;
  /** The implementation holding the private key. */
  readonly backend: Ed25519BackendName;
  /** Whether the private key can be exported (a non-extractable CryptoKey cannot). */
  readonly extractable: boolean;
  /** Signs bytes. */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** The portable form of an extractable identity (base64url fields). */
export interface ExportedIdentity {
  publicKey: string;
  secretKey: string;
}

/** A structured-cloneable form for IndexedDB: keeps a non-extractable CryptoKey as it is. */
export interface StorableIdentity {
  publicKey: Uint8Array;
  privateKey: PrivateKeyMaterial;
}

/** Options for creating identities. */
export interface IdentityOptions {
  /** Force a backend (default: Web Crypto where it supports Ed25519, else noble). */
  backend?: Ed25519BackendName;
  /** Allow exporting the private key (default false: the key never leaves the runtime's crypto). */
  extractable?: boolean;
}

class KeyPairIdentity implements Identity {
  readonly keyId: string;

  constructor(
    readonly publicKey: Uint8Array,
    readonly privateKey: PrivateKeyMaterial,
    private readonly impl: Ed25519Backend,
  ) {
    this.keyId = keyIdOf(publicKey);
  }

  get backend(): Ed25519BackendName {
    return this.impl.name;
  }

  get extractable(): boolean {
    return this.privateKey.kind === 'noble' || this.privateKey.seed !== undefined;
  }

  sign(data: Uint8Array): Promise<Uint8Array> {
    return this.impl.sign(this.privateKey, data);
  }
}

async function backendFor(options: IdentityOptions): Promise<Ed25519Backend> {
  return options.backend ? backendNamed(options.backend) : defaultBackend();
}

/** Generates a new identity. Crypto is touched only now, not at import. */
export async function generateIdentity(options: IdentityOptions = {}): Promise<Identity> {
  const impl = await backendFor(options);
  const { privateKey, publicKey } = await impl.generate(options.extractable ?? false);
  return new KeyPairIdentity(publicKey, privateKey, impl);
}

/** The identity of a 32-byte seed (deterministic: the same seed gives the same keys everywhere). */
export async function identityFromSeed(seed: Uint8Array, options: IdentityOptions = {}): Promise<Identity> {
  const impl = await backendFor(options);
  const { privateKey, publicKey } = await impl.fromSeed(seed, options.extractable ?? true);
  return new KeyPairIdentity(publicKey, privateKey, impl);
}

/** Exports an extractable identity; a non-extractable one is a `security` NOT_EXTRACTABLE error. */
export function exportIdentity(identity: Identity): ExportedIdentity {
  const key = (identity as KeyPairIdentity).privateKey;
  const seed = key?.kind === 'noble' ? key.seed : key?.seed;
  if (!seed) throw new HappenError('security', 'NOT_EXTRACTABLE', 'This identity keeps its private key non-extractable');
  return { publicKey: toBase64Url(identity.publicKey), secretKey: toBase64Url(seed) };
}

/** Imports an exported identity, checking that the public key belongs to the secret key. */
export async function importIdentity(exported: ExportedIdentity, options: IdentityOptions = {}): Promise<Identity> {
  if (typeof exported !== 'object' || exported === null) {
    throw new HappenError('security', 'INVALID_KEY', 'An exported identity must be an object with publicKey and secretKey');
  }
  const seed = fromBase64Url(exported.secretKey, 'secretKey');
  const identity = await identityFromSeed(seed, options);
  if (toBase64Url(identity.publicKey) !== exported.publicKey) {
    throw new HappenError('security', 'INVALID_KEY', 'The public key does not belong to this secret key');
  }
  return identity;
}

/** The structured-cloneable form of an identity (for IndexedDB). */
export function toStorable(identity: Identity): StorableIdentity {
  return { publicKey: identity.publicKey, privateKey: (identity as KeyPairIdentity).privateKey };
}

/** Rebuilds an identity from its stored form. */
export function fromStorable(stored: StorableIdentity): Identity {
  checkLength(stored?.publicKey, 32, 'A stored public key');
  const kind = stored.privateKey?.kind;
  if (kind !== 'webcrypto' && kind !== 'noble') throw new HappenError('security', 'INVALID_KEY', 'A stored identity has no private key');
  return new KeyPairIdentity(stored.publicKey, stored.privateKey, backendNamed(kind));
}

/** The key id of a public key: base64url of its first 16 bytes. */
export function keyIdOf(publicKey: Uint8Array): string {
  return toBase64Url(publicKey.subarray(0, 16));
}

/** Decodes a base64url public key, checking its length. */
export function publicKeyFrom(value: string | Uint8Array): Uint8Array {
  const bytes = typeof value === 'string' ? fromBase64Url(value, 'public key') : value;
  checkLength(bytes, 32, 'An Ed25519 public key');
  return bytes;
}
