/** A bounded set of recently seen ids: the oldest are forgotten first. */
export class RecentIds {
  #ids = new Set<string>();
  constructor(private readonly capacity: number) {}

  /** Adds an id; returns false when it was already there (a duplicate). */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    if (this.#ids.size >= this.capacity) this.#ids.delete(this.#ids.values().next().value!);
    this.#ids.add(id);
    return true;
  }
}
