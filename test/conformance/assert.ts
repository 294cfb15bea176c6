/** A tiny assertion helper with no runtime dependencies, so the suite runs unchanged everywhere. */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

function fail(message: string): never {
  throw new AssertionError(message);
}

function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Fails unless `value` is truthy. */
export function ok(value: unknown, message = 'expected a truthy value'): asserts value {
  if (!value) fail(`${message} (got ${show(value)})`);
}

/** Fails unless `actual === expected` (Object.is). */
export function equal<T>(actual: T, expected: T, message = 'values differ'): void {
  if (!Object.is(actual, expected)) fail(`${message}: expected ${show(expected)}, got ${show(actual)}`);
}

/** Fails unless both values are structurally equal (plain objects, arrays, primitives). */
export function deepEqual(actual: unknown, expected: unknown, message = 'values differ'): void {
  if (!same(actual, expected)) fail(`${message}: expected ${show(expected)}, got ${show(actual)}`);
}

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as any)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as any)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => same((a as any)[k], (b as any)[k]));
}

/** Fails unless `fn` throws; returns the thrown value for further checks. */
export function throws(fn: () => unknown, message = 'expected a throw'): any {
  try {
    fn();
  } catch (error) {
    return error;
  }
  fail(message);
}

/** Fails unless `promise` rejects; returns the rejection reason. */
export async function rejects(promise: Promise<unknown>, message = 'expected a rejection'): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  fail(message);
}

/** Fails unless `error` is a HappenError-shaped value with this category and code. */
export function isHappenError(error: unknown, category: string, code: string): void {
  const e = error as { name?: string; category?: string; code?: string; message?: string };
  ok(e && e.name === 'HappenError', `expected a HappenError, got ${show(e?.message ?? e)}`);
  equal(e.category, category, `error category (${e.message})`);
  equal(e.code, code, `error code (${e.message})`);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
