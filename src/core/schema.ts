import { HappenError } from './errors.ts';
import type { EventInput } from './event.ts';

/**
 * The Standard Schema v1 interface (standardschema.dev), declared here so core has no dependency:
 * valibot, zod, arktype and others implement it.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** A Standard Schema validation result. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<unknown> }> };

/** The output type of a Standard Schema. */
export type InferOutput<S> = S extends StandardSchemaV1<any, infer O> ? O : unknown;

/** A named event type bound to the schema of its payload. */
export interface EventDefinition<P = unknown> {
  readonly type: string;
  readonly schema: StandardSchemaV1<unknown, P>;
  /** Builds an event input of this type (checked by the receiver's validation). */
  create(payload: P, extra?: Omit<EventInput<P>, 'type' | 'payload'>): EventInput<P>;
}

/** Declares an event type with its payload schema; pass it to `on()` to validate on receipt. */
export function defineEvent<S extends StandardSchemaV1>(type: string, schema: S): EventDefinition<InferOutput<S>> {
  if (!isStandardSchema(schema)) throw notASchema(schema);
  return {
    type,
    schema: schema as StandardSchemaV1<unknown, InferOutput<S>>,
    create: (payload, extra) => ({ ...extra, type, payload }),
  };
}

/** True when a value implements Standard Schema v1. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return typeof value === 'object' && value !== null && typeof (value as StandardSchemaV1)['~standard']?.validate === 'function';
}

/** True for the objects {@link defineEvent} returns. */
export function isEventDefinition(value: unknown): value is EventDefinition {
  return typeof value === 'object' && value !== null && typeof (value as EventDefinition).type === 'string' && isStandardSchema((value as EventDefinition).schema);
}

/** Validates a payload: returns the (possibly transformed) value or throws a `validation` error. */
export function validatePayload(schema: StandardSchemaV1, type: string, payload: unknown): unknown {
  const result = schema['~standard'].validate(payload);
  return result instanceof Promise ? result.then((r) => unwrap(r, type)) : unwrap(result, type);
}

function unwrap(result: StandardResult<unknown>, type: string): unknown {
  if (!result.issues) return result.value;
  const issues = result.issues.map((issue) => ({
    message: issue.message,
    path: issue.path?.map((p) => (typeof p === 'object' && p !== null && 'key' in p ? (p as { key: unknown }).key : p)),
  }));
  throw new HappenError('validation', 'INVALID_PAYLOAD', `Invalid payload for ${type}: ${issues.map((i) => i.message).join('; ')}`, { issues });
}

function notASchema(value: unknown): HappenError {
  return new HappenError('validation', 'INVALID_SCHEMA', `Expected a Standard Schema validator (got ${typeof value})`);
}
