/**
 * Time-sortable unique ids: 9 base36 chars of milliseconds, 10 chars of per-generator randomness
 * from Web Crypto, then 4 of a per-millisecond counter. Within one generator ids sort in creation
 * order (the clock is never allowed to run backwards); across generators they sort by millisecond.
 * The counter comes last, its two high digits in a prefix rebuilt every 1,296 ids, so an id is one
 * concatenation of that prefix and a precomputed two-character tail.
 */
/** Returns a new id; `now` (ms) defaults to the generator's clock. */
export type IdGenerator = (now?: number) => string;

const RANDOM_CHARS = 10;
const TAIL_LIMIT = 36 ** 2;
const COUNTER_LIMIT = 36 ** 4;
// Every two-character base36 tail, '00' to 'zz'.
const TAILS = Array.from({ length: TAIL_LIMIT }, (_, i) => (TAIL_LIMIT + i).toString(36).slice(1));

/**
 * Creates an id generator with its own random suffix, so two runtimes never collide. The generator
 * takes an optional timestamp so a caller that already read the clock does not read it twice.
 */
export function createIdGenerator(clock: () => number = Date.now): IdGenerator {
  const suffix = randomBase36(RANDOM_CHARS);
  let lastMs = -1;
  let msPart = '';
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
      msPart = ms.toString(36).padStart(9, '0') + suffix;
      prefix = msPart + '00';
    } else if (counter % TAIL_LIMIT === 0) {
      prefix = msPart + TAILS[counter / TAIL_LIMIT]!;
    }
    return prefix + TAILS[counter % TAIL_LIMIT]!;
  };
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
