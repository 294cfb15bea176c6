import { HappenError } from '../core/errors.ts';
import { storageError, type Storage } from './storage.ts';

/** Options of a write to memory. */
export interface RememberOptions {
  /** Forget the value after this many milliseconds. */
  ttl?: number;
}

/** Key-value memory (agents' working memory): values with optional time-to-live. */
export interface Memory {
  /** The value, or `undefined` when absent or expired. */
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, options?: RememberOptions): Promise<void>;
  /** Resolves to whether a live value was deleted. */
  delete(key: string): Promise<boolean>;
  /** Live entries whose key starts with `prefix`, in key order. */
  entries<T = unknown>(prefix?: string): Promise<Array<[string, T]>>;
  /** Deletes expired values now (reads already ignore them); resolves to how many were removed. */
  sweep(): Promise<number>;
}

/** Options shared by memories. */
export interface MemoryOptions {
  /** The clock TTLs are measured with (default `Date.now`). */
  now?: () => number;
}

interface Stored {
  value: unknown;
  expires?: number;
}

/** The private memory of one node, on any storage. */
export function nodeMemory(storage: Storage, nodeId: string, options: MemoryOptions = {}): Memory {
  return new KeyValueMemory(storage, `mem/${encodeURIComponent(nodeId)}/`, options.now ?? Date.now, () => Promise.resolve());
}

/** Who may use a shared scope: node ids, or `'*'` for any node. The owner may always do anything. */
export interface ScopeAcl {
  owner: string;
  read?: string[];
  /** Writers may also read. */
  write?: string[];
}

/** A named memory shared by a team of nodes under its own ACL. */
export interface SharedScope {
  readonly name: string;
  /** The scope seen as one node: every call is checked against the scope's ACL. */
  as(nodeId: string): Memory;
  /** The stored ACL. */
  acl(): Promise<ScopeAcl>;
  /** Replaces the ACL; only its owner may (`ACL_DENIED` otherwise). */
  setAcl(by: string, acl: ScopeAcl): Promise<void>;
}

/**
 * Creates a shared scope with its ACL, or opens it when it exists (the stored ACL then applies
 * and `acl` may be omitted). Two nodes creating the same scope at once: one ACL wins, atomically.
 */
export async function sharedMemory(storage: Storage, name: string, acl?: ScopeAcl, options: MemoryOptions = {}): Promise<SharedScope> {
  const aclKey = `scope/${encodeURIComponent(name)}/acl`;
  if (acl !== undefined) {
    assertAcl(acl);
    try {
      await storage.batch([{ type: 'put', key: aclKey, value: acl }], [{ key: aclKey, value: undefined }]);
    } catch (error) {
      if (!(error instanceof HappenError && error.code === 'CONFLICT')) throw error; // it exists: use the stored ACL
    }
  } else if ((await storage.get(aclKey)) === undefined) {
    throw new HappenError('runtime', 'NO_SUCH_SCOPE', `No shared memory scope "${name}": create it with an ACL first`);
  }
  const readAcl = async () => (await storage.get<ScopeAcl>(aclKey))!;
  const prefix = `scope/${encodeURIComponent(name)}/kv/`;
  const now = options.now ?? Date.now;
  return {
    name,
    acl: readAcl,
    as: (nodeId) => new KeyValueMemory(storage, prefix, now, async (write) => assertAllowed(name, await readAcl(), nodeId, write)),
    async setAcl(by, next) {
      assertAcl(next);
      const current = await readAcl();
      if (by !== current.owner) throw denied(name, by, 'change the ACL of');
      await storage.batch([{ type: 'put', key: aclKey, value: next }], [{ key: aclKey, value: current }]);
    },
  };
}

class KeyValueMemory implements Memory {
  constructor(
    private readonly storage: Storage,
    private readonly prefix: string,
    private readonly now: () => number,
    private readonly allow: (write: boolean) => Promise<void>,
  ) {}

  async get<T>(key: string): Promise<T | undefined> {
    await this.allow(false);
    const stored = await this.storage.get<Stored>(this.prefix + key);
    return stored === undefined || this.expired(stored) ? undefined : (stored.value as T);
  }

  async set(key: string, value: unknown, options: RememberOptions = {}): Promise<void> {
    if (options.ttl !== undefined && !(options.ttl > 0)) throw storageError('INVALID_VALUE', `ttl must be a positive number of ms (got ${options.ttl})`);
    await this.allow(true);
    const stored: Stored = options.ttl === undefined ? { value } : { value, expires: this.now() + options.ttl };
    await this.storage.put(this.prefix + key, stored);
  }

  async delete(key: string): Promise<boolean> {
    await this.allow(true);
    const stored = await this.storage.get<Stored>(this.prefix + key);
    if (stored === undefined) return false;
    await this.storage.delete(this.prefix + key);
    return !this.expired(stored);
  }

  async entries<T>(prefix = ''): Promise<Array<[string, T]>> {
    await this.allow(false);
    const all = await this.storage.list<Stored>({ prefix: this.prefix + prefix });
    return all.filter(([, s]) => !this.expired(s)).map(([key, s]) => [key.slice(this.prefix.length), s.value as T]);
  }

  async sweep(): Promise<number> {
    await this.allow(true);
    const expired = (await this.storage.list<Stored>({ prefix: this.prefix })).filter(([, s]) => this.expired(s));
    if (expired.length > 0) await this.storage.batch(expired.map(([key]) => ({ type: 'delete' as const, key })));
    return expired.length;
  }

  private expired(stored: Stored): boolean {
    return stored.expires !== undefined && stored.expires <= this.now();
  }
}

function assertAcl(acl: ScopeAcl): void {
  const ids = (list: unknown) => list === undefined || (Array.isArray(list) && list.every((id) => typeof id === 'string'));
  if (typeof acl !== 'object' || acl === null || typeof acl.owner !== 'string' || !ids(acl.read) || !ids(acl.write)) {
    throw new HappenError('validation', 'INVALID_ACL', 'A scope ACL needs an owner id and optional read/write lists of node ids');
  }
}

function assertAllowed(scope: string, acl: ScopeAcl, nodeId: string, write: boolean): void {
  const listed = (list: string[] | undefined) => list !== undefined && (list.includes(nodeId) || list.includes('*'));
  if (nodeId === acl.owner || listed(acl.write) || (!write && listed(acl.read))) return;
  throw denied(scope, nodeId, write ? 'write to' : 'read from');
}

function denied(scope: string, nodeId: string, action: string): HappenError {
  return new HappenError('security', 'ACL_DENIED', `Node "${nodeId}" may not ${action} scope "${scope}"`, { scope, node: nodeId });
}
