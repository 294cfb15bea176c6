import { HappenError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';
import { toBase64Url, utf8 } from './encoding.ts';

/**
 * The canonical encoding that event signatures cover — the same bytes in every runtime:
 *
 *   UTF-8( "happen-sig-v1\n" + canonicalJson({ id, type, payload, causal, target }) )
 *
 * where `causal` is `context.causal` and `target` is `context.target` (omitted for broadcasts).
 * canonicalJson: object keys sorted by UTF-16 code units, no whitespace, properties whose value is
 * `undefined` omitted, arrays in order, strings and numbers as `JSON.stringify` writes them (ECMAScript
 * number formatting is exact and identical everywhere), `Uint8Array` as `{"$bytes":"<base64url>"}` and
 * `Date` as its ISO string. NaN, ±Infinity, bigint, functions, symbols, Map, Set and other class
 * instances cannot be signed: they are a `validation` error (UNSIGNABLE). Other context fields (trace
 * headers and the like, which hops may rewrite) and the signature itself are not covered.
 */
export function signingBytes(event: HappenEvent): Uint8Array {
  return utf8(signingText(event));
}

/** The canonical text behind {@link signingBytes} (what the verification cache compares). */
export function signingText(event: HappenEvent): string {
  const { id, type, payload } = event;
  return 'happen-sig-v1\n' + canonicalJson({ id, type, payload, causal: event.context.causal, target: event.context.target });
}

/** Deterministic JSON as described on {@link signingBytes}. */
export function canonicalJson(value: unknown): string {
  return write(value, 0);
}

const MAX_DEPTH = 64;

// Plain objects come first (the common case); strings are built by concatenation, not map/join,
// since this runs for every signed event.
function write(value: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw unsignable('nesting deeper than 64 levels');
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw unsignable(`the number ${value}`);
      return String(value); // identical to JSON.stringify for finite numbers
    case 'object': {
      if (value === null) return 'null';
      const proto = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) return writeObject(value as Record<string, unknown>, depth);
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + (value[i] === undefined ? 'null' : write(value[i], depth + 1));
        return out + ']';
      }
      if (value instanceof Uint8Array) return '{"$bytes":' + JSON.stringify(toBase64Url(value)) + '}';
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      throw unsignable(`an instance of ${proto?.constructor?.name ?? 'a class'}`);
    }
    default:
      throw unsignable(`a ${typeof value}`);
  }
}

function writeObject(record: Record<string, unknown>, depth: number): string {
  const keys = Object.keys(record).sort();
  let out = '{';
  for (const key of keys) {
    const v = record[key];
    if (v === undefined) continue;
    out += (out.length > 1 ? ',' : '') + quote(key) + ':' + write(v, depth + 1);
  }
  return out + '}';
}

// Strings JSON.stringify would copy verbatim: no quote, backslash, control character or surrogate.
const VERBATIM = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

function quote(text: string): string {
  return VERBATIM.test(text) ? '"' + text + '"' : JSON.stringify(text);
}

function unsignable(what: string): HappenError {
  return new HappenError('validation', 'UNSIGNABLE', `An event payload containing ${what} cannot be canonically encoded for signing`);
}
