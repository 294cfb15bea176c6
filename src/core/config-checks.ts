/**
 * Checks of configuration objects for the outer layers (resilience, observability, ...): bad config
 * fails at once with a typed `INVALID_CONFIG` error naming the option. Not part of core's public entry.
 */
import { HappenError } from './errors.ts';

/** A `validation` / `INVALID_CONFIG` error naming what was misconfigured. */
export function invalidConfig(what: string, message: string): HappenError {
  return new HappenError('validation', 'INVALID_CONFIG', `${what}: ${message}`);
}

/** Asserts a config is a plain object whose keys are all known (a typo must not silently do nothing). */
export function checkObject<T extends object>(what: string, value: unknown, keys: readonly string[]): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidConfig(what, `expected an options object (got ${describe(value)})`);
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw invalidConfig(what, `unknown option "${key}" (known: ${keys.join(', ')})`);
  }
  return value as T;
}

/** An integer option at least `min`, or `fallback` when absent. */
export function integerOption(what: string, name: string, value: unknown, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalidConfig(what, `${name} must be an integer ≥ ${min} (got ${describe(value)})`);
  }
  return value;
}

/** A finite number option within [min, max], or `fallback` when absent. */
export function numberOption(what: string, name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalidConfig(what, `${name} must be a number in [${min}, ${max}] (got ${describe(value)})`);
  }
  return value;
}

/** A function option, or `fallback` when absent. */
export function functionOption<F extends Function>(what: string, name: string, value: unknown, fallback: F): F;
export function functionOption<F extends Function>(what: string, name: string, value: unknown): F | undefined;
export function functionOption<F extends Function>(what: string, name: string, value: unknown, fallback?: F): F | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') throw invalidConfig(what, `${name} must be a function (got ${describe(value)})`);
  return value as F;
}

/** A non-empty node id option, or undefined when absent. */
export function nodeIdOption(what: string, name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) throw invalidConfig(what, `${name} must be a node id (got ${describe(value)})`);
  return value;
}

/** A short description of a bad value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null || typeof value !== 'object') return String(value);
  return 'an object';
}
