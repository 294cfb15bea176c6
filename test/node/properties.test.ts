import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { compilePattern, createHappen, createIdGenerator } from '../../src/index.ts';
import { canonicalJson } from '../../src/security/index.ts';

// The reference canonical form, written the obvious way (JSON.stringify alone would put integer-like
// keys first, whatever their sort order).
function canonicalReference(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalReference).join(',')}]`;
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record).sort().map((k) => `${JSON.stringify(k)}:${canonicalReference(record[k])}`).join(',')}}`;
}

// A reference matcher over segment arrays: `*` is one segment, `**` any number (including none).
function reference(pattern: string[], type: string[]): boolean {
  if (pattern.length === 0) return type.length === 0;
  const [head, ...rest] = pattern;
  if (head === '**') return reference(rest, type) || (type.length > 0 && reference(pattern, type.slice(1)));
  if (type.length === 0) return false;
  return (head === '*' || head === type[0]) && reference(rest, type.slice(1));
}

const segment = fc.constantFrom('a', 'b', 'c');
const typeArb = fc.array(segment, { minLength: 1, maxLength: 5 });
const patternArb = fc.array(fc.oneof(segment, fc.constant('*'), fc.constant('**')), { minLength: 1, maxLength: 5 });

describe('[node] properties', () => {
  test('compiled wildcard patterns agree with the reference matcher', () => {
    fc.assert(
      fc.property(patternArb, typeArb, (pattern, type) => {
        expect(compilePattern(pattern.join('.'))(type.join('.'))).toBe(reference(pattern, type));
      }),
      { numRuns: 5000 },
    );
  });

  test('{x,y} alternatives match exactly the union of their expansions', () => {
    fc.assert(
      fc.property(patternArb, patternArb, patternArb, typeArb, (left, a, b, type) => {
        const combined = compilePattern(`${left.join('.')}.{${a.join('.')},${b.join('.')}}`)(type.join('.'));
        expect(combined).toBe(reference([...left, ...a], type) || reference([...left, ...b], type));
      }),
      { numRuns: 3000 },
    );
  });

  test('canonical JSON equals a sorted-key reference for any JSON value, and ignores key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(value)).toBe(canonicalReference(value));
        const reversed = JSON.parse(JSON.stringify(value), (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v));
        expect(canonicalJson(reversed)).toBe(canonicalJson(value));
      }),
      { numRuns: 2000 },
    );
  });

  test('ids from one generator are unique and strictly increasing under any clock', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { minLength: 2, maxLength: 300 }), (clock) => {
        let i = 0;
        const next = createIdGenerator(() => clock[i++ % clock.length]!);
        const ids = clock.map(() => next());
        for (let k = 1; k < ids.length; k++) expect(ids[k]! > ids[k - 1]!).toBe(true);
      }),
    );
  });

  test('every event of a random causal cascade appears once in its trace, under its cause', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(5), { minLength: 1, maxLength: 40 }), async (fanout) => {
        const happen = createHappen();
        const node = happen.createNode('n');
        let budget = fanout.length;
        node.on('step', (e, ctx) => {
          for (let k = 0; k < (fanout[e.payload % fanout.length] ?? 0) && budget > 0; k++, budget--) {
            ctx.broadcast({ type: 'step', payload: e.payload + k + 1 });
          }
        });
        const root = node.broadcast({ type: 'step', payload: 0 });
        await happen.settled();
        const trace = happen.trace(root.id);
        expect(trace.roots).toHaveLength(1);
        const count = (n: { children: unknown[] }): number => 1 + (n.children as never[]).reduce((s, c) => s + count(c), 0);
        expect(count(trace.roots[0]!)).toBe(trace.events.length);
        expect(trace.events.length).toBe(1 + fanout.length - budget);
      }),
      { numRuns: 200 },
    );
  });
});
