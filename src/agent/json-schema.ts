/**
 * A small JSON Schema validator for what tool arguments and structured model output use: `type`
 * (one or a list; `integer`, `null`), `properties`, `required`, `additionalProperties`,
 * `patternProperties`, `items`, `prefixItems` (and draft-07's array form of `items`), `enum`, `const`,
 * `minimum`/`maximum`/`exclusiveMinimum`/`exclusiveMaximum` (numbers, or draft-04 booleans),
 * `multipleOf`, `minLength`/`maxLength` (code points), `pattern` (a Unicode regex), `minItems`/
 * `maxItems`, `uniqueItems`, `minProperties`/`maxProperties`, `allOf`/`anyOf`/`oneOf`/`not`, and
 * local `$ref`s (`#/$defs/x`). Every other keyword (`format`, `nullable`, `title`, ...) is ignored.
 * Boolean schemas (`true`, `false`) are accepted wherever a schema is.
 */
import { HappenError } from '../core/errors.ts';
import type { JsonSchema } from './model.ts';

/** One reason a value does not match a schema; `path` is a JSON Pointer into the value (`''` = the value itself). */
export interface JsonSchemaIssue {
  path: string;
  message: string;
}

type Schema = JsonSchema | boolean;
type Json = { [key: string]: unknown };

// A `$ref` cycle that never descends into the value would recurse forever; no real schema nests this deep.
const MAX_DEPTH = 128;
const patterns = new Map<string, RegExp>();

/**
 * Checks `value` against `schema`; returns every issue found (empty = valid). Throws a `validation`
 * `INVALID_SCHEMA` error when the schema itself is unusable (a bad `pattern`, an unresolvable `$ref`).
 */
export function validateJson(schema: JsonSchema, value: unknown): JsonSchemaIssue[] {
  const issues: JsonSchemaIssue[] = [];
  check(schema, value, '', schema, issues, 0);
  return issues;
}

function check(schema: Schema, value: unknown, path: string, root: JsonSchema, out: JsonSchemaIssue[], depth: number): void {
  if (schema === true) return;
  if (schema === false) return void out.push({ path, message: 'is not allowed here' });
  if (!isObject(schema)) throw badSchema(`a schema must be an object or a boolean (got ${JSON.stringify(schema)})`);
  if (depth > MAX_DEPTH) return void out.push({ path, message: `is nested more than ${MAX_DEPTH} schema levels deep` });
  const s = schema as Json;
  const sub = (child: unknown, v: unknown, p: string, into = out) => check(child as Schema, v, p, root, into, depth + 1);
  const fail = (message: string, at = path) => void out.push({ path: at, message });

  if (typeof s.$ref === 'string') sub(resolveRef(root, s.$ref), value, path);
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => hasType(value, t))) fail(`must be ${types.join(' or ')} (got ${typeName(value)})`);
  }
  if (Array.isArray(s.enum) && !s.enum.some((option) => equalJson(option, value))) fail(`must be one of ${JSON.stringify(s.enum)}`);
  if ('const' in s && !equalJson(s.const, value)) fail(`must equal ${JSON.stringify(s.const)}`);

  if (typeof value === 'number') {
    const exMin = s.exclusiveMinimum === true ? s.minimum : s.exclusiveMinimum;
    const exMax = s.exclusiveMaximum === true ? s.maximum : s.exclusiveMaximum;
    if (typeof s.minimum === 'number' && s.exclusiveMinimum !== true && value < s.minimum) fail(`must be >= ${s.minimum}`);
    if (typeof s.maximum === 'number' && s.exclusiveMaximum !== true && value > s.maximum) fail(`must be <= ${s.maximum}`);
    if (typeof exMin === 'number' && value <= exMin) fail(`must be > ${exMin}`);
    if (typeof exMax === 'number' && value >= exMax) fail(`must be < ${exMax}`);
    if (typeof s.multipleOf === 'number' && s.multipleOf > 0) {
      const q = value / s.multipleOf;
      if (Math.abs(q - Math.round(q)) > 1e-9 * Math.max(1, Math.abs(q))) fail(`must be a multiple of ${s.multipleOf}`);
    }
  }

  if (typeof value === 'string') {
    if (typeof s.minLength === 'number' || typeof s.maxLength === 'number') {
      const length = codePoints(value);
      if (typeof s.minLength === 'number' && length < s.minLength) fail(`must have at least ${s.minLength} characters`);
      if (typeof s.maxLength === 'number' && length > s.maxLength) fail(`must have at most ${s.maxLength} characters`);
    }
    if (typeof s.pattern === 'string' && !regex(s.pattern).test(value)) fail(`must match the pattern ${JSON.stringify(s.pattern)}`);
  }

  if (Array.isArray(value)) {
    if (typeof s.minItems === 'number' && value.length < s.minItems) fail(`must have at least ${s.minItems} items`);
    if (typeof s.maxItems === 'number' && value.length > s.maxItems) fail(`must have at most ${s.maxItems} items`);
    const prefix = (Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : []) as Schema[];
    const rest = Array.isArray(s.items) ? undefined : s.items;
    value.forEach((item, i) => {
      const child = i < prefix.length ? prefix[i] : rest;
      if (child !== undefined) sub(child, item, `${path}/${i}`);
    });
    if (s.uniqueItems === true) {
      const seen = value.findIndex((item, i) => value.findIndex((other) => equalJson(item, other)) !== i);
      if (seen >= 0) fail(`must not contain duplicate items (item ${seen} repeats an earlier one)`);
    }
  } else if (isObject(value)) {
    const properties = isObject(s.properties) ? s.properties : {};
    const patternProps = isObject(s.patternProperties) ? Object.entries(s.patternProperties).map(([p, child]) => [regex(p), child] as const) : [];
    if (Array.isArray(s.required)) {
      for (const key of s.required as string[]) if (!Object.hasOwn(value, key) || value[key] === undefined) fail(`must have the property ${JSON.stringify(key)}`);
    }
    const keys = Object.keys(value).filter((key) => value[key] !== undefined);
    if (typeof s.minProperties === 'number' && keys.length < s.minProperties) fail(`must have at least ${s.minProperties} properties`);
    if (typeof s.maxProperties === 'number' && keys.length > s.maxProperties) fail(`must have at most ${s.maxProperties} properties`);
    for (const key of keys) {
      const at = `${path}/${pointerToken(key)}`;
      let known = Object.hasOwn(properties, key);
      if (known) sub(properties[key], value[key], at);
      for (const [re, child] of patternProps) {
        if (!re.test(key)) continue;
        known = true;
        sub(child, value[key], at);
      }
      if (!known && s.additionalProperties !== undefined) {
        if (s.additionalProperties === false) fail(`must not have the property ${JSON.stringify(key)}`, at);
        else sub(s.additionalProperties, value[key], at);
      }
    }
  }

  if (Array.isArray(s.allOf)) for (const child of s.allOf) sub(child, value, path);
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const options = s[keyword];
    if (!Array.isArray(options)) continue;
    const results = options.map((child) => {
      const found: JsonSchemaIssue[] = [];
      sub(child, value, path, found);
      return found;
    });
    const matched = results.filter((r) => r.length === 0).length;
    if (matched === 0) {
      // The closest branch's issues tell a model (or a person) what to fix: the one that failed
      // least at this level (its type fit), then the one with the fewest issues.
      fail(`must match ${keyword === 'anyOf' ? 'at least one' : 'exactly one'} schema of ${keyword}`);
      const distance = (r: JsonSchemaIssue[]) => r.filter((issue) => issue.path === path).length * 1e6 + r.length;
      out.push(...results.reduce((best, r) => (distance(r) < distance(best) ? r : best), results[0] ?? []));
    } else if (keyword === 'oneOf' && matched > 1) fail(`must match exactly one schema of oneOf (matched ${matched})`);
  }
  if (s.not !== undefined) {
    const found: JsonSchemaIssue[] = [];
    sub(s.not, value, path, found);
    if (found.length === 0) fail('must not match the schema in "not"');
  }
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'null': return value === null;
    case 'boolean': return typeof value === 'boolean';
    case 'string': return typeof value === 'string';
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'integer': return Number.isInteger(value);
    case 'array': return Array.isArray(value);
    case 'object': return isObject(value);
    default: throw badSchema(`unknown type ${JSON.stringify(type)}`);
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : Number.isFinite(value) ? 'number' : String(value);
  return typeof value;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON equality: numbers by value, objects regardless of key order, `undefined` members absent. */
function equalJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => equalJson(x, b[i]));
  }
  if (!isObject(a) || !isObject(b)) return false;
  const ka = Object.keys(a).filter((k) => a[k] !== undefined);
  const kb = Object.keys(b).filter((k) => b[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && equalJson(a[k], b[k]));
}

function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++; // a string iterates by code point
  return n;
}

function regex(source: string): RegExp {
  let re = patterns.get(source);
  if (re === undefined) {
    try {
      re = new RegExp(source, 'u');
    } catch {
      throw badSchema(`the pattern ${JSON.stringify(source)} is not a valid regular expression`);
    }
    if (patterns.size > 500) patterns.clear(); // a bounded cache: schemas are few, but may be built at run time
    patterns.set(source, re);
  }
  return re;
}

function resolveRef(root: JsonSchema, ref: string): unknown {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) throw badSchema(`only local $refs ("#/...") are supported (got ${JSON.stringify(ref)})`);
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = typeof node === 'object' && node !== null && Object.hasOwn(node, key) ? (node as Json)[key] : undefined;
    if (node === undefined) throw badSchema(`the $ref ${JSON.stringify(ref)} points at nothing`);
  }
  return node;
}

function pointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function badSchema(message: string): HappenError {
  return new HappenError('validation', 'INVALID_SCHEMA', `Invalid JSON Schema: ${message}`);
}
