import type { HappenEvent } from '../core/event.ts';

/**
 * Remembers verified events so a relayed or re-delivered event is verified once. Two levels: the
 * event objects themselves (a WeakSet: free, and nothing to evict), and, for copies decoded again
 * from the wire, a bounded map from signature to the verified event. A copy hits only when every
 * signed field is deeply equal to that event's — a tampered copy reusing a signature never passes —
 * and comparing is much cheaper than rebuilding the canonical bytes, let alone verifying.
 */
export class VerificationCache {
  #objects = new WeakSet<object>();
  #bySignature = new Map<string, HappenEvent>();

  constructor(readonly capacity = 10_000) {}

  /** Whether this event (this object, or a copy with the same signature and content) was verified. */
  has(event: HappenEvent): boolean {
    if (this.#objects.has(event)) return true;
    const verified = event.signature === undefined ? undefined : this.#bySignature.get(event.signature);
    if (verified === undefined || !sameSignedContent(verified, event)) return false;
    this.#objects.add(event);
    return true;
  }

  /**
   * Records a verified (or locally signed) event. Copies are compared with a snapshot taken now, so a
   * handler that later mutates the event cannot make unverified content look verified.
   */
  add(event: HappenEvent): void {
    this.#objects.add(event);
    if (event.signature === undefined) return;
    const { id, type, payload, context, signature } = event;
    const snapshot = structuredClone({ id, type, payload, context: { causal: context.causal, target: context.target }, signature });
    if (this.#bySignature.size >= this.capacity) this.#bySignature.delete(this.#bySignature.keys().next().value!);
    this.#bySignature.set(event.signature, snapshot);
  }

  /** Number of signatures held for copy lookups. */
  get size(): number {
    return this.#bySignature.size;
  }
}

// Exactly the fields the signature covers (see canonical.ts).
function sameSignedContent(a: HappenEvent, b: HappenEvent): boolean {
  return (
    a.id === b.id &&
    a.type === b.type &&
    a.context.target === b.context.target &&
    same(a.context.causal, b.context.causal, 0) &&
    same(a.payload, b.payload, 0)
  );
}

// Strict deep equality: same kinds of values (a Uint8Array never equals a plain object), keys in any
// order, properties holding `undefined` ignored (as the canonical encoding ignores them).
function same(a: unknown, b: unknown, depth: number): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || depth > 64) return false;
  const proto = Object.getPrototypeOf(a);
  if (proto !== Object.getPrototypeOf(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (a.length !== other.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], other[i], depth + 1)) return false;
    return true;
  }
  if (a instanceof Uint8Array) return a.length === (b as Uint8Array).length && a.every((v, i) => v === (b as Uint8Array)[i]);
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (proto !== Object.prototype && proto !== null) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let count = 0;
  for (const key in ra) {
    if (ra[key] === undefined) continue;
    count++;
    if (!Object.prototype.hasOwnProperty.call(rb, key) || !same(ra[key], rb[key], depth + 1)) return false;
  }
  for (const key in rb) if (rb[key] !== undefined) count--;
  return count === 0;
}
