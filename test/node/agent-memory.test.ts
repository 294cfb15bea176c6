import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { validateJson } from '../../src/agent/json-schema.ts';
import { kvMemory } from '../../src/agent/memory/kv-memory.ts';
import { lexicalEmbedder } from '../../src/agent/memory/lexical-embedder.ts';
import { cosineSimilarity, vectorMemory } from '../../src/agent/memory/vector-memory.ts';
import type { MemoryItem, MemorySystem } from '../../src/agent/memory-system.ts';
import type { JsonSchema } from '../../src/agent/model.ts';
import { memoryStorage } from '../../src/storage/memory.ts';

const json = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown); // -0 → 0, as on the wire

/** The tightest schema the validator knows for a value: it must accept exactly that shape. */
function schemaOf(value: unknown): JsonSchema {
  if (value === null) return { type: 'null' };
  if (Array.isArray(value)) return { type: 'array', prefixItems: value.map(schemaOf), items: false, minItems: value.length };
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const properties = Object.fromEntries(Object.entries(record).map(([k, v]) => [k, schemaOf(v)]));
    return { type: 'object', properties, required: Object.keys(record), additionalProperties: false };
  }
  if (typeof value === 'number') return { type: Number.isInteger(value) ? 'integer' : 'number', minimum: value, maximum: value };
  if (typeof value === 'string') return { type: 'string', minLength: [...value].length, maxLength: [...value].length, const: value };
  return { type: typeof value, enum: [value] };
}

/** Whether a JSON Pointer names a place inside `value`. */
function resolves(value: unknown, pointer: string): boolean {
  if (pointer === '') return true;
  let node = value;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

describe('[node] agent memory properties', () => {
  test('a value matches its own const, enum and derived schema', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(validateJson({ const: value }, structuredClone(value))).toEqual([]);
        expect(validateJson({ enum: [1, value] }, value)).toEqual([]);
        expect(validateJson(schemaOf(value), value)).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });

  test('every issue points inside the validated value, and a value unlike the schema has issues', () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        const issues = validateJson(schemaOf(a), b);
        for (const issue of issues) expect(resolves(b, issue.path), `${issue.path} in ${JSON.stringify(b)}`).toBe(true);
        const same = JSON.stringify(validateJson({ const: a }, b)) === '[]';
        expect(issues.length === 0).toBe(same);
      }),
      { numRuns: 1000 },
    );
  });

  test('the lexical embedder: unit or zero vectors, deterministic, indifferent to word order and case', async () => {
    const embedder = lexicalEmbedder({ dimensions: 64 });
    const words = fc.array(fc.oneof(fc.constantFrom('database', 'rows', 'Weather', 'sunny', 'the', 'Köln', '数据库', '42'), fc.string({ maxLength: 6 })), { maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(words, fc.func(fc.integer()), async (list, order) => {
        const text = list.join(' ');
        const shuffled = [...list].sort((x, y) => order(x) - order(y) || (x < y ? -1 : 1)).join(' ');
        const ascii = /^[\x00-\x7f]*$/.test(text);
        const [v, again, w, upper] = await embedder.embed([text, text, shuffled, ascii ? text.toUpperCase() : text]);
        expect(again).toEqual(v);
        const norm = Math.sqrt(v!.reduce((n, x) => n + x * x, 0));
        expect(norm === 0 || Math.abs(norm - 1) < 1e-12).toBe(true);
        for (const other of [w!, upper!]) v!.forEach((x, i) => expect(Math.abs(x - other[i]!)).toBeLessThan(1e-12));
      }),
      { numRuns: 300 },
    );
  });

  // Memory against a model: a Map of items with expiries, on a clock the test moves.
  type Op =
    | { op: 'store'; id: string; content: string; ttl?: number }
    | { op: 'update'; id: string; content?: string; ttl?: number | null }
    | { op: 'forget'; id: string }
    | { op: 'advance'; ms: number };
  const id = fc.constantFrom('a', 'b', 'c');
  const content = fc.constantFrom('database rows', 'sunny weather', 'weekly report');
  const ttl = fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined });
  const ops = fc.array(
    fc.oneof(
      fc.record({ op: fc.constant('store' as const), id, content, ttl }),
      fc.record({ op: fc.constant('update' as const), id, content: fc.option(content, { nil: undefined }), ttl: fc.option(fc.integer({ min: 1, max: 50 }), { nil: null }) }),
      fc.record({ op: fc.constant('forget' as const), id }),
      fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 30 }) }),
    ),
    { maxLength: 25 },
  );

  for (const [name, make] of [
    ['kv', (now: () => number) => kvMemory(memoryStorage(), { namespace: 'p', now })],
    ['vector', (now: () => number) => vectorMemory({ embedder: lexicalEmbedder({ dimensions: 64 }), now })],
  ] as Array<[string, (now: () => number) => MemorySystem]>) {
    test(`${name} memory behaves like a map with expiries`, async () => {
      await fc.assert(
        fc.asyncProperty(ops, async (list) => {
          let t = 1_000;
          const memory = make(() => t);
          const model = new Map<string, { content: string; expiresAt?: number }>();
          const live = (k: string) => {
            const m = model.get(k);
            return m !== undefined && (m.expiresAt === undefined || m.expiresAt > t) ? m : undefined;
          };
          for (const step of list) {
            if (step.op === 'advance') t += step.ms;
            else if (step.op === 'store') {
              await memory.store(step.content, { id: step.id, ttl: step.ttl });
              model.set(step.id, { content: step.content, expiresAt: step.ttl === undefined ? undefined : t + step.ttl });
            } else if (step.op === 'forget') {
              expect(await memory.forget(step.id)).toBe(live(step.id) !== undefined);
              model.delete(step.id);
            } else {
              const m = live(step.id);
              const patch = { content: step.content, ttl: step.ttl };
              if (m === undefined) {
                await expect(memory.update(step.id, patch)).rejects.toMatchObject({ code: 'MEMORY_NOT_FOUND' });
              } else {
                await memory.update(step.id, patch);
                if (step.content !== undefined) m.content = step.content;
                m.expiresAt = step.ttl === null ? undefined : t + step.ttl!;
              }
            }
            for (const k of ['a', 'b', 'c']) {
              const got: MemoryItem | undefined = await memory.get(k);
              const m = live(k);
              expect(got?.content).toBe(m?.content);
              if (got !== undefined) expect(got.expiresAt).toBe(m!.expiresAt);
            }
            const hits = await memory.retrieve('database rows', { limit: 10 });
            const expected = ['a', 'b', 'c'].filter((k) => live(k)?.content === 'database rows');
            for (const k of expected) expect(hits.map((h) => h.id)).toContain(k);
            expect(hits.every((h) => live(h.id) !== undefined)).toBe(true);
          }
        }),
        { numRuns: 150 },
      );
    });
  }
});
