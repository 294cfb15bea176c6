/**
 * How big a value's JSON form is, which is what every storage limit counts. Writing an event
 * measures it once, so this sits on the write path of every append: an upper bound walked
 * without building the JSON string settles almost every value (~6 × cheaper than
 * `JSON.stringify` for a typical event), and only values near or over the limit are encoded.
 */

const encoder = new TextEncoder();
const OBJECT = Object.prototype;
// A JSON string takes at most 6 UTF-8 bytes per UTF-16 unit (`\u001f`; a character ≤ 3).
const PER_UNIT = 6;
// The longest JSON number: `-0.0000012345678901234567` (fixed notation, 17 digits, sign).
const NUMBER = 25;
// Deeper values are measured exactly (and a cycle then fails in JSON.stringify, as before).
const MAX_DEPTH = 64;

/** Size of a value's JSON form in bytes (what the limits count). */
export function jsonBytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value) ?? '').length;
}

/**
 * The JSON size of `value` when it exceeds `max` bytes, else `undefined`. A cheap upper bound
 * decides first; only when it cannot, the value is stringified, and encoded only when the
 * character count alone does not settle it (UTF-8 takes 1 to 3 bytes per UTF-16 unit).
 */
export function bytesOver(value: unknown, max: number): number | undefined {
  if (upperBound(value, max, 0) <= max) return undefined;
  const json = JSON.stringify(value) ?? '';
  if (json.length * 3 <= max) return undefined;
  const size = encoder.encode(json).length; // exact, since the size is reported
  return size > max ? size : undefined;
}

/**
 * At least the JSON size of `value`, or more than `budget` as soon as that is certain (it stops
 * counting there). Anything JSON.stringify treats specially — `toJSON`, boxed primitives, class
 * instances, BigInt — is `Infinity`, which sends the value to the exact measure.
 */
function upperBound(value: unknown, budget: number, depth: number): number {
  switch (typeof value) {
    case 'string':
      return 2 + PER_UNIT * value.length;
    case 'number':
      return NUMBER;
    case 'boolean':
    case 'undefined': // omitted, or `null` in an array
    case 'function':
    case 'symbol':
      return 5;
    case 'object': {
      if (value === null) return 4;
      if (depth >= MAX_DEPTH) return Infinity;
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return Infinity;
      let n = 2;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length && n <= budget; i++) n += 1 + upperBound(value[i], budget - n, depth + 1);
        return n;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== OBJECT && proto !== null) return Infinity;
      for (const key in value) {
        if (n > budget) break;
        // Quotes, colon and comma around the key; `for in` may add inherited keys, which only raises the bound.
        n += 4 + PER_UNIT * key.length + upperBound((value as Record<string, unknown>)[key], budget - n, depth + 1);
      }
      return n;
    }
    default:
      return Infinity; // bigint: JSON.stringify throws, as it did before this bound existed
  }
}
