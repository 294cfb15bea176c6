/**
 * Time-sortable unique ids: 9 base36 chars of milliseconds, 10 chars of per-generator randomness
 * from Web Crypto, then 4 of a per-millisecond counter. Within one generator ids sort in creation
 * order (the clock is never allowed to run backwards); across generators they sort by millisecond.
 * The counter comes last so each id is one concatenation onto a string made once per millisecond.
 */
/** Returns a new id; `now` (ms) defaults to the generator's clock. */
export type IdGenerator = (now?: number) => string;

const RANDOM_CHARS = 10;
const COUNTER_LIMIT = 36 ** 4;

/**
 * Creates an id generator with its own random suffix, so two runtimes never collide. The generator
 * takes an optional timestamp so a caller that already read the clock does not read it twice.
 */
export function createIdGenerator(clock: () => number = Date.now): IdGenerator {
  const suffix = randomBase36(RANDOM_CHARS);
  let lastMs = -1;
  let prefix = '';
  let counter = 0;
  return (now?: number) => {
    let ms = now ?? clock();
    if (ms <= lastMs) {
      ms = lastMs;
      if (++counter >= COUNTER_LIMIT) {
        ms = lastMs + 1; // borrow the next millisecond rather than repeat an id
        counter = 0;
      }
    } else {
      counter = 0;
    }
    if (ms !== lastMs) {
      lastMs = ms;
      prefix = ms.toString(36).padStart(9, '0') + suffix;
    }
    return prefix + counterText(counter);
  };
}

// Number-to-base36 conversion is a measurable share of emit cost; the small counters that almost
// every millisecond uses are converted once and kept.
const COUNTER_CACHE: string[] = [];
const COUNTER_CACHE_SIZE = 4096;

function counterText(counter: number): string {
  if (counter >= COUNTER_CACHE_SIZE) return (COUNTER_LIMIT + counter).toString(36).slice(1);
  return (COUNTER_CACHE[counter] ??= (COUNTER_LIMIT + counter).toString(36).slice(1));
}

/** The millisecond timestamp encoded in an id made by {@link createIdGenerator}. */
export function idTime(id: string): number {
  return parseInt(id.slice(0, 9), 36);
}

function randomBase36(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = '';
  for (const byte of bytes) out += (byte % 36).toString(36);
  return out;
}
