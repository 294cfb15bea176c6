/**
 * A cheap clock for stamping events. Reading `Date.now()` costs as much as the rest of an emit in
 * some runtimes, so a value is reused for at most `MAX_REUSE` reads and until `invalidate()` is
 * called (the dispatcher does so before each delivery), keeping stamps within microseconds of true.
 */
export class EventClock {
  // Plain fields, not #private: this runs on every emit and inlines better.
  private value = 0;
  private reads = MAX_REUSE;

  constructor(private readonly source: () => number = Date.now) {}

  /** The current time in ms (possibly reused from a read a few microseconds ago). */
  now(): number {
    if (this.reads++ < MAX_REUSE) return this.value;
    this.reads = 1;
    return (this.value = this.source());
  }

  /** Forces the next read to consult the source. */
  invalidate(): void {
    this.reads = MAX_REUSE;
  }
}

const MAX_REUSE = 32;
