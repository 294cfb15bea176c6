/** Names in generated code: the node-name rule `create-node` enforces, and identifiers derived from a name. */

/**
 * A node name `create-node` accepts: a letter, then letters, digits, `-` or `_`, at most 64 in all.
 * Stricter than the core's node-id rule (no whitespace, 1-128) because the name is also a file name
 * and the first segment of the node's event types.
 */
export const NODE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Ids the runtime itself uses: a node by one of these names would shadow it. */
export const RESERVED_NODE_NAMES = ['happen', 'hub', 'ops'];

/** A package name `init` accepts: npm's rule for unscoped names, which is also a valid mesh name. */
export const PACKAGE_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** `order-api` → `OrderApi`: for type names. */
export function pascalCase(name: string): string {
  return name
    .split(/[-_]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

/** `order-api` → `orderApi`: for values. */
export function camelCase(name: string): string {
  const pascal = pascalCase(name);
  return pascal[0]!.toLowerCase() + pascal.slice(1);
}

/** A directory name made into a package name: lower case, anything else becomes `-`. */
export function packageNameFrom(text: string): string {
  const name = text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/-+$/, '')
    .slice(0, 64);
  return name || 'happen-app';
}
