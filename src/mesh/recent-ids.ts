/** A bounded set of recently seen ids: the oldest are forgotten first (a ring, so no iterator per add). */
export class RecentIds {
  #ids = new Set<string>();
  #ring: Array<string | undefined>;
  #next = 0;

  constructor(capacity: number) {
    this.#ring = new Array(Math.max(1, capacity));
  }

  /** Whether an id is remembered. */
  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Adds an id; returns false when it was already there (a duplicate). */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    const oldest = this.#ring[this.#next];
    if (oldest !== undefined) this.#ids.delete(oldest);
    this.#ring[this.#next] = id;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#ids.add(id);
    return true;
  }
}
