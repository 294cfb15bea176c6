/** `happen/security`: identities, signed events, replay protection, ACLs, security levels and admission tokens. */
export { security, type KeyStore, type Security, type SecurityConfig, type SecurityLevel, type SecurityStats } from './security.ts';
export { Acl, type AclConfig, type AclRule } from './acl.ts';
export { ReplayGuard, type ReplayGuardOptions } from './replay-guard.ts';
export { VerificationCache } from './verify-cache.ts';
export { canonicalJson, signingBytes, signingText } from './canonical.ts';
export { parseSignature, signEvent, verifyEvent } from './signing.ts';
export {
  exportIdentity,
  fromStorable,
  generateIdentity,
  identityFromSeed,
  importIdentity,
  keyIdOf,
  publicKeyFrom,
  toStorable,
  type ExportedIdentity,
  type Identity,
  type IdentityOptions,
  type StorableIdentity,
} from './identity.ts';
export { backendNamed, defaultBackend, nobleBackend, webCryptoBackend, type Ed25519Backend, type Ed25519BackendName } from './ed25519.ts';
export { fromBase64Url, toBase64Url } from './encoding.ts';
export { createAdmissionToken, verifyAdmissionToken, type CreateTokenOptions, type TokenClaims, type VerifyTokenOptions } from './tokens.ts';
