import { HappenError } from '../core/errors.ts';
import { compilePattern, type Pattern, type TypeMatcher } from '../core/pattern.ts';

/**
 * One access rule. `from` and `to` name node ids, roles as `role:<name>`, or `'*'`; `to` defaults to
 * `'*'` (any target, and broadcasts). `types` are event patterns.
 */
export interface AclRule {
  from: string | string[];
  to?: string | string[];
  types: Pattern | Pattern[];
  /** Default 'allow'. A matching deny always wins over allows. */
  effect?: 'allow' | 'deny';
}

/** Access-control configuration. */
export interface AclConfig {
  /** Role name → member node ids. */
  roles?: Record<string, string[]>;
  rules: AclRule[];
  /** What happens when no rule matches (default 'deny'). */
  default?: 'allow' | 'deny';
}

interface CompiledRule {
  from: string[];
  to: string[];
  types: TypeMatcher[];
  deny: boolean;
}

/**
 * Decides whether a node may emit an event type to another node (or broadcast it). The same object
 * serves local delivery, sends before they leave, and the hub. System events (`happen.*`: errors,
 * replies) are always allowed so a denied sender still learns why.
 */
export class Acl {
  #roles = new Map<string, Set<string>>();
  #rules: CompiledRule[];
  #allowByDefault: boolean;

  constructor(config: AclConfig) {
    if (typeof config !== 'object' || config === null || !Array.isArray(config.rules)) {
      throw new HappenError('validation', 'INVALID_CONFIG', 'acl needs a rules array');
    }
    for (const [role, members] of Object.entries(config.roles ?? {})) this.#roles.set(role, new Set(members));
    this.#rules = config.rules.map((rule) => ({
      from: list(rule.from),
      to: list(rule.to ?? '*'),
      types: (Array.isArray(rule.types) ? rule.types : [rule.types]).map(compilePattern),
      deny: rule.effect === 'deny',
    }));
    this.#allowByDefault = config.default === 'allow';
  }

  /** Whether `from` may emit `type` to `to` (`undefined` for a broadcast). */
  allows(from: string, type: string, to: string | undefined): boolean {
    if (type.startsWith('happen.')) return true;
    let allowed = false;
    for (const rule of this.#rules) {
      if (!rule.types.some((m) => m(type)) || !this.matches(rule.from, from) || !this.matchesTarget(rule.to, to)) continue;
      if (rule.deny) return false;
      allowed = true;
    }
    return allowed || this.#allowByDefault;
  }

  /** Throws a `security` ACL_DENIED error unless allowed. */
  check(from: string, type: string, to: string | undefined): void {
    if (!this.allows(from, type, to)) {
      throw new HappenError('security', 'ACL_DENIED', `${from} may not emit ${type} to ${to ?? 'everyone'}`, { from, type, to });
    }
  }

  /** Whether a node has a role. */
  hasRole(nodeId: string, role: string): boolean {
    return this.#roles.get(role)?.has(nodeId) ?? false;
  }

  private matches(entries: string[], nodeId: string): boolean {
    return entries.some((e) => e === '*' || e === nodeId || (e.startsWith('role:') && this.hasRole(nodeId, e.slice(5))));
  }

  private matchesTarget(entries: string[], to: string | undefined): boolean {
    return to === undefined ? entries.includes('*') : this.matches(entries, to);
  }
}

function list(value: string | string[]): string[] {
  return Array.isArray(value) ? value : [value];
}
