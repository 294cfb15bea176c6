import { HappenError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';
import type { HappenExtension } from '../core/extension.ts';
import type { Middleware } from '../core/middleware.ts';
import type { HappenNode } from '../core/node.ts';
import type { Happen } from '../core/system.ts';
import { Acl, type AclConfig } from './acl.ts';
import { backendNamed, defaultBackend, type Ed25519Backend, type Ed25519BackendName } from './ed25519.ts';
import { generateIdentity, publicKeyFrom, type Identity } from './identity.ts';
import { ReplayGuard, type ReplayGuardOptions } from './replay-guard.ts';
import { signEvent, verifyEvent } from './signing.ts';
import { VerificationCache } from './verify-cache.ts';

/**
 * How much a node or system checks, cheapest first:
 * - `none`: nothing is signed or verified (ACLs still apply when configured).
 * - `low`: outgoing events are signed; incoming events are verified when they are signed by a known sender.
 * - `medium`: as low, and every event entering the system must be signed by a known sender, with a
 *   fresh timestamp and an id not seen before (replay guard).
 * - `high`: as medium, and every delivery to the node — local ones included — must carry a verified
 *   signature (local signatures are trusted from the moment they are made, so this costs a cache hit).
 */
export type SecurityLevel = 'high' | 'medium' | 'low' | 'none';

/** Persists node identities (see `happen/security/indexeddb`). */
export interface KeyStore {
  load(nodeId: string): Promise<Identity | undefined>;
  save(nodeId: string, identity: Identity): Promise<void>;
}

/** Configuration of {@link security}. */
export interface SecurityConfig {
  /** The system's level, and the default for its nodes (default 'medium'). */
  level?: SecurityLevel;
  /** Per-node level and identity. */
  nodes?: Record<string, { level?: SecurityLevel; identity?: Identity }>;
  /** Access rules, checked on send, on every delivery and (by the hub) on relay. */
  acl?: AclConfig | Acl;
  /** Public keys (base64url or bytes) of senders outside this system. */
  trust?: Record<string, string | Uint8Array>;
  replay?: ReplayGuardOptions;
  /** Signatures the verification cache remembers for copies of events (default 10,000). */
  verificationCacheSize?: number;
  /** Force the Ed25519 implementation (default: Web Crypto where available, else noble). */
  backend?: Ed25519BackendName;
  /** Where node identities are loaded from and saved to (default: generated per run). */
  keyStore?: KeyStore;
}

/** Counters of what the security layer did. */
export interface SecurityStats {
  signed: number;
  verified: number;
  cacheHits: number;
  /** ACL denials. */
  denied: number;
  /** Every refusal, by error code. */
  rejected: Record<string, number>;
}

/** The security extension, with its trust store and counters. */
export interface Security extends HappenExtension {
  readonly acl: Acl | undefined;
  /** A node's identity (loaded or generated on first use). */
  identityOf(nodeId: string): Promise<Identity>;
  /** Trusts a sender's public key. */
  trust(nodeId: string, publicKey: string | Uint8Array): void;
  /** The trusted public key of a sender, if any. */
  publicKeyOf(nodeId: string): Uint8Array | undefined;
  /** The level a node runs at. */
  levelOf(nodeId: string): SecurityLevel;
  stats(): SecurityStats;
}

const LEVELS: SecurityLevel[] = ['none', 'low', 'medium', 'high'];

/** Creates the security extension: `createHappen({ extensions: [security({ level: 'high' })] })`. */
export function security(config: SecurityConfig = {}): Security {
  const systemLevel = checkLevel(config.level ?? 'medium');
  for (const node of Object.values(config.nodes ?? {})) if (node.level) checkLevel(node.level);
  const acl = config.acl === undefined ? undefined : config.acl instanceof Acl ? config.acl : new Acl(config.acl);
  const keys = new Map<string, Uint8Array>();
  for (const [id, key] of Object.entries(config.trust ?? {})) keys.set(id, publicKeyFrom(key));
  const identities = new Map<string, Promise<Identity>>();
  const cache = new VerificationCache(config.verificationCacheSize);
  const guard = new ReplayGuard(config.replay);
  const stats: SecurityStats = { signed: 0, verified: 0, cacheHits: 0, denied: 0, rejected: {} };
  const backend: Promise<Ed25519Backend> = config.backend ? Promise.resolve(backendNamed(config.backend)) : defaultBackend();
  let systemId = 'happen';

  const levelOf = (nodeId: string) => config.nodes?.[nodeId]?.level ?? systemLevel;
  const atLeast = (level: SecurityLevel, min: SecurityLevel) => LEVELS.indexOf(level) >= LEVELS.indexOf(min);

  // Counts a refusal and passes the error on.
  const refuse = (error: HappenError): never => {
    stats.rejected[error.code] = (stats.rejected[error.code] ?? 0) + 1;
    if (error.code === 'ACL_DENIED') stats.denied++;
    throw error;
  };
  const guarded = <T>(work: () => T): T => {
    try {
      const result = work();
      return result instanceof Promise ? (result.catch((e) => refuse(HappenError.from(e))) as T) : result;
    } catch (e) {
      return refuse(HappenError.from(e));
    }
  };

  function identityOf(nodeId: string): Promise<Identity> {
    let identity = identities.get(nodeId);
    if (!identity) {
      identity = (async () => {
        const found = config.nodes?.[nodeId]?.identity ?? (await config.keyStore?.load(nodeId));
        const result = found ?? (await generateIdentity(config.backend ? { backend: config.backend } : {}));
        if (!found) await config.keyStore?.save(nodeId, result);
        keys.set(nodeId, result.publicKey);
        return result;
      })();
      identities.set(nodeId, identity);
      identity.catch(() => identities.delete(nodeId));
    }
    return identity;
  }

  async function verify(event: HappenEvent): Promise<void> {
    if (cache.has(event)) {
      stats.cacheHits++;
      return;
    }
    const sender = event.context.causal.sender;
    const publicKey = keys.get(sender);
    if (!publicKey) throw new HappenError('security', 'UNKNOWN_SENDER', `No public key is trusted for sender ${sender}`, { sender });
    await verifyEvent(event, publicKey, await backend);
    stats.verified++;
    cache.add(event);
  }

  // Runs on every delivery to a node: ACL, then the node's signature requirement.
  const gate = (node: HappenNode): Middleware => ({
    name: 'security',
    handle(event, _ctx, next) {
      return guarded(() => {
        const sender = event.context.causal.sender;
        acl?.check(sender, event.type, node.id);
        if (!atLeast(levelOf(node.id), 'high') || sender === systemId || cache.has(event)) return next();
        if (event.signature === undefined) {
          throw new HappenError('security', 'MISSING_SIGNATURE', `${node.id} requires signed events; ${event.type} from ${sender} is unsigned`);
        }
        return verify(event).then(next);
      });
    },
  });

  return {
    name: 'security',
    acl,
    identityOf,
    levelOf,
    trust(nodeId, publicKey) {
      keys.set(nodeId, publicKeyFrom(publicKey));
    },
    publicKeyOf: (nodeId) => keys.get(nodeId),
    stats: () => ({ ...stats, rejected: { ...stats.rejected } }),
    attach(system: Happen) {
      systemId = system.id;
    },
    nodeCreated(node) {
      node.use(gate(node));
    },
    outgoing(event, node) {
      return guarded(() => {
        const target = event.context.target;
        if (target !== undefined) acl?.check(node.id, event.type, target);
        if (levelOf(node.id) === 'none') return undefined;
        return identityOf(node.id).then(async (identity) => {
          await signEvent(event, identity);
          stats.signed++;
          cache.add(event); // we made this signature: trusted without a verify
        });
      });
    },
    incoming(event) {
      return guarded(() => {
        if (systemLevel === 'none') return undefined;
        const signedByKnown = event.signature !== undefined && keys.has(event.context.causal.sender);
        if (!atLeast(systemLevel, 'medium')) return signedByKnown ? verify(event) : undefined;
        if (event.signature === undefined) {
          throw new HappenError('security', 'MISSING_SIGNATURE', `${event.type} from ${event.context.causal.sender} is unsigned`);
        }
        return verify(event).then(() => guard.check(event));
      });
    },
  };
}

function checkLevel(level: SecurityLevel): SecurityLevel {
  if (!LEVELS.includes(level)) throw new HappenError('validation', 'INVALID_CONFIG', `Unknown security level "${level}" (use ${LEVELS.join(', ')})`);
  return level;
}
