/** JSON Schema as a Standard Schema, so core's own payload validation can check agent and memory events. */
import type { StandardSchemaV1 } from '../core/schema.ts';
import { validateJson } from './json-schema.ts';
import type { JsonSchema } from './model.ts';

/** A JSON Schema as a Standard Schema: each issue's message starts with its JSON Pointer path. */
export function jsonStandardSchema(schema: JsonSchema): StandardSchemaV1 {
  return {
    '~standard': {
      version: 1,
      vendor: 'happen-json-schema',
      validate(value) {
        const issues = validateJson(schema, value);
        if (issues.length === 0) return { value };
        return { issues: issues.map((i) => ({ message: `${i.path || 'the payload'} ${i.message}`, path: pointerKeys(i.path) })) };
      },
    },
  };
}

// A JSON Pointer's reference tokens, unescaped (RFC 6901), as Standard Schema path keys.
function pointerKeys(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((key) => key.replace(/~1/g, '/').replace(/~0/g, '~'));
}
