/** Agent memory in every runtime: the JSON Schema validator, KV and vector memory, the lexical embedder, the memory node. */
import { createMemoryNode } from '../../src/agent/memory/memory-node.ts';
import { kvMemory } from '../../src/agent/memory/kv-memory.ts';
import { lexicalEmbedder } from '../../src/agent/memory/lexical-embedder.ts';
import { cosineSimilarity, vectorMemory } from '../../src/agent/memory/vector-memory.ts';
import { validateJson } from '../../src/agent/json-schema.ts';
import type { Embedder, MemorySystem } from '../../src/agent/memory-system.ts';
import type { JsonSchema } from '../../src/agent/model.ts';
import { createHappen, ERROR_EVENT, HappenError, type HappenEvent } from '../../src/index.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import { deepEqual, equal, isHappenError, ok, rejects, throws } from './assert.ts';
import { describe, test } from './harness.ts';

/** The issues as `path: message` lines, for compact assertions. */
const paths = (schema: JsonSchema, value: unknown) => validateJson(schema, value).map((i) => i.path);
const valid = (schema: JsonSchema, value: unknown) => validateJson(schema, value).length === 0;

/** A clock the test moves by hand. */
function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('agent memory', () => {
  describe('json schema', () => {
    test('type: each JSON type, integer, null and lists of types', () => {
      const cases: Array<[string, unknown, unknown]> = [
        ['string', 'x', 1],
        ['number', 1.5, '1.5'],
        ['integer', 3, 3.5],
        ['boolean', false, 0],
        ['null', null, undefined],
        ['array', [], {}],
        ['object', {}, []],
      ];
      for (const [type, good, bad] of cases) {
        ok(valid({ type }, good), `${type} accepts ${JSON.stringify(good)}`);
        ok(!valid({ type }, bad), `${type} rejects ${String(bad)}`);
      }
      ok(valid({ type: 'integer' }, 2.0), '2.0 is an integer');
      ok(!valid({ type: 'number' }, NaN), 'NaN is not a JSON number');
      ok(!valid({ type: 'object' }, null), 'null is not an object');
      ok(valid({ type: ['string', 'null'] }, null) && valid({ type: ['string', 'null'] }, 'a'));
      const issues = validateJson({ type: ['string', 'null'] }, 4);
      deepEqual(issues, [{ path: '', message: 'must be string or null (got integer)' }]);
    });

    test('properties, required and additionalProperties report JSON Pointer paths', () => {
      const schema = {
        type: 'object',
        properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
        required: ['name'],
        additionalProperties: false,
      };
      ok(valid(schema, { name: 'ada', age: 36 }));
      deepEqual(paths(schema, { age: -1, extra: true }), ['', '/age', '/extra']);
      const [missing] = validateJson(schema, {});
      ok(missing!.message.includes('"name"'), missing!.message);
      ok(valid(schema, { name: 'ada', age: undefined }), 'an undefined member is absent');
      const typed = { type: 'object', additionalProperties: { type: 'number' } };
      deepEqual(paths(typed, { a: 1, b: 'two' }), ['/b']);
      deepEqual(paths({ properties: { 'a/b~c': { type: 'string' } } }, { 'a/b~c': 1 }), ['/a~1b~0c'], 'pointer tokens are escaped');
      const patterned = { type: 'object', patternProperties: { '^x-': { type: 'string' } }, additionalProperties: false };
      ok(valid(patterned, { 'x-id': 'a' }));
      deepEqual(paths(patterned, { 'x-id': 1, y: 'a' }), ['/x-id', '/y']);
      ok(!valid({ type: 'object', minProperties: 1 }, {}) && !valid({ maxProperties: 1 }, { a: 1, b: 2 }));
    });

    test('items, prefixItems, minItems, maxItems and uniqueItems', () => {
      const list = { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }, minItems: 1, maxItems: 2 };
      ok(valid(list, [{ name: 'a' }]));
      deepEqual(paths(list, [{ name: 'a' }, { name: 3 }]), ['/1/name']);
      deepEqual(paths({ type: 'object', properties: { items: list } }, { items: [{ name: 'a' }, {}, {}] }), ['/items', '/items/1', '/items/2']);
      ok(!valid(list, []), 'minItems');
      const tuple = { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], items: { type: 'boolean' } };
      ok(valid(tuple, ['a', 1, true, false]));
      deepEqual(paths(tuple, [1, 'a', 'x']), ['/0', '/1', '/2']);
      ok(!valid({ items: [{ type: 'string' }] }, [1]), "draft-07's array form of items is a tuple");
      ok(valid({ uniqueItems: true }, [1, 2, { a: 1 }]));
      ok(!valid({ uniqueItems: true }, [{ a: 1, b: 2 }, { b: 2, a: 1 }]), 'objects are equal regardless of key order');
    });

    test('enum, const, numbers and strings', () => {
      ok(valid({ enum: ['red', 'green', null] }, null) && !valid({ enum: ['red', 'green'] }, 'blue'));
      ok(valid({ const: { a: [1, 2] } }, { a: [1, 2] }) && !valid({ const: { a: [1, 2] } }, { a: [2, 1] }));
      ok(valid({ minimum: 1, maximum: 3 }, 1) && valid({ minimum: 1, maximum: 3 }, 3));
      deepEqual(validateJson({ minimum: 1 }, 0), [{ path: '', message: 'must be >= 1' }]);
      ok(!valid({ maximum: 3 }, 3.5));
      ok(!valid({ exclusiveMinimum: 1 }, 1) && valid({ exclusiveMinimum: 1 }, 1.01));
      ok(!valid({ exclusiveMaximum: 1 }, 1) && valid({ exclusiveMaximum: 1 }, 0.99));
      ok(!valid({ minimum: 1, exclusiveMinimum: true }, 1), 'draft-04 boolean exclusiveMinimum');
      ok(valid({ multipleOf: 0.1 }, 0.3) && !valid({ multipleOf: 2 }, 3));
      ok(valid({ minimum: 5 }, 'text'), 'number keywords ignore other types');
      ok(valid({ minLength: 2, maxLength: 3 }, '😀😀'), 'lengths count code points, not UTF-16 units');
      ok(!valid({ minLength: 2 }, 'a') && !valid({ maxLength: 3 }, 'abcd'));
      ok(valid({ pattern: '^[a-z]+-\\d+$' }, 'ticket-42') && !valid({ pattern: '^[a-z]+$' }, 'Ticket'));
      ok(valid({ pattern: '^\\p{L}+$' }, 'Grüße'), 'patterns are Unicode-aware');
    });

    test('allOf, anyOf, oneOf, not and local $refs', () => {
      ok(valid({ allOf: [{ type: 'number' }, { minimum: 2 }] }, 3));
      deepEqual(paths({ allOf: [{ type: 'number' }, { minimum: 2 }] }, 1), ['']);
      const either = { anyOf: [{ type: 'string' }, { type: 'object', properties: { a: { type: 'number' } }, required: ['a'] }] };
      ok(valid(either, 'x') && valid(either, { a: 1 }));
      const issues = validateJson(either, { a: 'one' });
      ok(issues[0]!.message.includes('anyOf'), issues[0]!.message);
      deepEqual(issues.slice(1), [{ path: '/a', message: 'must be number (got string)' }], "the closest branch's issues follow");
      const one = { oneOf: [{ type: 'integer' }, { minimum: 0 }] };
      ok(valid(one, -1) && valid(one, 0.5));
      ok(validateJson(one, 2)[0]!.message.includes('matched 2'), 'matching two branches of oneOf fails');
      ok(!valid({ not: { type: 'null' } }, null) && valid({ not: { type: 'null' } }, 0));
      const tree = {
        $defs: { node: { type: 'object', properties: { value: { type: 'number' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } }, required: ['value'] } },
        $ref: '#/$defs/node',
      };
      ok(valid(tree, { value: 1, children: [{ value: 2, children: [{ value: 3 }] }] }));
      deepEqual(paths(tree, { value: 1, children: [{ value: 2, children: [{}] }] }), ['/children/0/children/0']);
    });

    test('boolean schemas, ignored keywords and unusable schemas', () => {
      ok(valid({ properties: { a: true } }, { a: 'anything' }));
      deepEqual(paths({ properties: { a: false } }, { a: 1 }), ['/a']);
      ok(valid({ type: 'string', format: 'email', nullable: true, description: 'x', title: 't' }, 'not an email'), 'unknown keywords are ignored');
      ok(!valid({ type: 'string', nullable: true }, null), 'nullable is not supported: use type ["string", "null"]');
      isHappenError(throws(() => validateJson({ pattern: '(' }, 'x')), 'validation', 'INVALID_SCHEMA');
      isHappenError(throws(() => validateJson({ $ref: '#/$defs/none' }, 1)), 'validation', 'INVALID_SCHEMA');
      isHappenError(throws(() => validateJson({ $ref: 'https://example.com/s.json' }, 1)), 'validation', 'INVALID_SCHEMA');
      isHappenError(throws(() => validateJson({ type: 'text' }, 1)), 'validation', 'INVALID_SCHEMA');
      isHappenError(throws(() => validateJson({ properties: { a: 5 } } as JsonSchema, { a: 1 })), 'validation', 'INVALID_SCHEMA');
      const cyclic = validateJson({ $defs: { a: { $ref: '#/$defs/a' } }, $ref: '#/$defs/a' }, 1);
      ok(cyclic.length === 1 && cyclic[0]!.message.includes('nested'), 'a $ref cycle is an issue, not a hang');
    });
  });

  describe('kv memory', () => {
    test('store, get, update and forget', async () => {
      const c = clock();
      const memory = kvMemory(memoryStorage(), { namespace: 'agent-1', now: c.now });
      const item = await memory.store('Sarah prefers weekly reports', { metadata: { topic: 'prefs' } });
      equal(item.content, 'Sarah prefers weekly reports');
      equal(item.createdAt, c.now());
      equal(item.expiresAt, undefined);
      deepEqual(await memory.get(item.id), item);
      const second = await memory.store('another');
      ok(second.id > item.id, 'new ids sort in creation order');
      c.advance(10);
      const updated = await memory.update(item.id, { content: 'Sarah prefers daily reports' });
      equal(updated.content, 'Sarah prefers daily reports');
      equal(updated.createdAt, item.createdAt);
      equal(updated.updatedAt, item.createdAt + 10);
      deepEqual(updated.metadata, { topic: 'prefs' }, 'a patch without metadata keeps it');
      deepEqual(await memory.get(item.id), updated);
      equal(await memory.forget(item.id), true);
      equal(await memory.get(item.id), undefined);
      equal(await memory.forget(item.id), false);
      isHappenError(await rejects(memory.update(item.id, { content: 'x' })), 'runtime', 'MEMORY_NOT_FOUND');
      const replaced = await memory.store('v2', { id: second.id });
      equal((await memory.get(second.id))!.content, 'v2');
      equal(replaced.id, second.id);
    });

    test('retrieve ranks an exact id, then id prefixes, then items holding every query word', async () => {
      const memory = kvMemory(memoryStorage(), { namespace: 'a' });
      await memory.store('the user likes tea', { id: 'user' });
      await memory.store('name is Ada', { id: 'user.name' });
      await memory.store('Ada likes green tea and biscuits', { id: 'n1' });
      await memory.store('Green tea', { id: 'n2' });
      await memory.store('coffee only', { id: 'n3' });
      const byId = await memory.retrieve('user');
      deepEqual(byId.map((h) => [h.id, h.score]), [['user', 1], ['user.name', 0.9]]);
      const byWords = await memory.retrieve('TEA green');
      deepEqual(byWords.map((h) => h.id), ['n2', 'n1'], 'every word must appear; the tighter item ranks first');
      equal(byWords[0]!.score, 0.8);
      ok(byWords[1]!.score < byWords[0]!.score && byWords[1]!.score > 0);
      equal((await memory.retrieve('tea', { limit: 2 })).length, 2);
      deepEqual((await memory.retrieve('tea', { minScore: 0.35 })).map((h) => h.id), ['n2']);
      deepEqual(await memory.retrieve('tea chocolate'), []);
      deepEqual(await memory.retrieve(''), [], 'an empty query matches nothing');
    });

    test('TTLs expire items on the injected clock; ttl null removes an expiry', async () => {
      const c = clock();
      const storage = memoryStorage();
      const memory = kvMemory(storage, { namespace: 'a', now: c.now, defaultTtl: 1_000 });
      const short = await memory.store('short lived note', { ttl: 100 });
      const dflt = await memory.store('default lived note');
      equal(short.expiresAt, c.now() + 100);
      equal(dflt.expiresAt, c.now() + 1_000);
      c.advance(100);
      equal(await memory.get(short.id), undefined, 'expired at expiresAt');
      deepEqual((await memory.retrieve('note')).map((h) => h.id), [dflt.id]);
      isHappenError(await rejects(memory.update(short.id, { content: 'x' })), 'runtime', 'MEMORY_NOT_FOUND');
      equal(await memory.forget(short.id), false, 'forgetting an expired item is not a live removal');
      await memory.update(dflt.id, { ttl: null });
      c.advance(10_000);
      ok((await memory.get(dflt.id)) !== undefined, 'no expiry after ttl: null');
      await memory.update(dflt.id, { ttl: 50 });
      c.advance(50);
      equal(await memory.get(dflt.id), undefined);
      await memory.retrieve('note');
      deepEqual(await storage.list({ prefix: 'memory/kv/' }), [], 'retrieve swept the expired items from storage');
    });

    test('a second kvMemory on the same storage sees the items; other namespaces do not', async () => {
      const storage = memoryStorage();
      const first = kvMemory(storage, { namespace: 'agent/1' });
      const item = await first.store('remember the milk');
      const again = kvMemory(storage, { namespace: 'agent/1' });
      deepEqual(await again.get(item.id), item);
      equal((await again.retrieve('milk'))[0]!.id, item.id);
      const other = kvMemory(storage, { namespace: 'agent' });
      equal(await other.get(item.id), undefined);
      deepEqual(await other.retrieve('milk'), []);
      equal((await kvMemory(storage, { namespace: 'agent/1/x' }).retrieve('milk')).length, 0);
    });

    test('bad input gets INVALID_MEMORY_INPUT', async () => {
      const memory = kvMemory(memoryStorage(), { namespace: 'a' });
      const bad = async (promise: Promise<unknown>) => isHappenError(await rejects(promise), 'validation', 'INVALID_MEMORY_INPUT');
      await bad(memory.store(42 as never));
      await bad(memory.store('x', { ttl: -1 }));
      await bad(memory.store('x', { ttl: Infinity }));
      await bad(memory.store('x', { id: '' }));
      await bad(memory.store('x', { id: '\ud800' }));
      await bad(memory.store('x', { metadata: [] as never }));
      await bad(memory.retrieve(7 as never));
      await bad(memory.retrieve('x', { limit: 1.5 }));
      await bad(memory.get(undefined as never));
      const item = await memory.store('x');
      await bad(memory.update(item.id, { ttl: 0 }));
      await bad(memory.update(item.id, null as never));
      isHappenError(throws(() => kvMemory(memoryStorage(), { namespace: '' })), 'validation', 'INVALID_MEMORY_INPUT');
      isHappenError(throws(() => kvMemory(memoryStorage(), undefined as never)), 'validation', 'INVALID_MEMORY_INPUT');
      equal((await memory.get(item.id))!.content, 'x', 'the memory still works');
    });
  });

  describe('lexical embedder', () => {
    test('fixed vectors for fixed inputs, the same in every runtime', async () => {
      const embedder = lexicalEmbedder({ dimensions: 8 });
      equal(embedder.name, 'lexical');
      const [hello, repeated] = await embedder.embed(['Hello, world!', 'rows rows row']);
      const close = (actual: number[], expected: number[]) => {
        equal(actual.length, expected.length);
        actual.forEach((x, i) => ok(Math.abs(x - expected[i]!) < 1e-12, `component ${i}: ${x} vs ${expected[i]}`));
      };
      close(hello!, [0, -0.1646463899845355, 0.5488212999484517, 0.1646463899845355, 0.1646463899845355, 0, -0.7134676899329873, 0.329292779969071]);
      close(repeated!, EXPECTED_ROWS);
      const [big] = await lexicalEmbedder().embed(['Hello, world!']);
      equal(big!.length, 512);
      close([big!.reduce((n, x) => n + x * x, 0)], [1]);
    });

    test('inflections meet, stop words and case do not matter, and a text without words is the zero vector', async () => {
      const e = lexicalEmbedder({ trigramWeight: 0 });
      const [a, b, c, d, empty] = await e.embed(['Stored databases', 'the database is storing', 'store DATABASE', 'weather', ' ... ']);
      ok(cosineSimilarity(a!, b!) > 0.999 && cosineSimilarity(a!, c!) > 0.999, 'one feature per stem');
      equal(cosineSimilarity(a!, d!), 0);
      ok(empty!.every((x) => x === 0));
      equal(cosineSimilarity(a!, empty!), 0);
      const [x, y, z] = await lexicalEmbedder().embed(['databse', 'database', 'weather']);
      ok(cosineSimilarity(x!, y!) > 0.2, `trigrams keep a misspelling close (${cosineSimilarity(x!, y!)})`);
      ok(Math.abs(cosineSimilarity(x!, z!)) < 0.05, 'and unrelated words apart');
    });

    test('a query about database rows ranks a database note above a weather note', async () => {
      const [query, db, weather] = await lexicalEmbedder().embed([
        'database rows',
        'The orders database keeps one row per order',
        'Tomorrow the weather will be sunny and warm',
      ]);
      ok(cosineSimilarity(query!, db!) > cosineSimilarity(query!, weather!) + 0.3);
    });

    test('bad options and inputs get typed errors', async () => {
      isHappenError(throws(() => lexicalEmbedder({ dimensions: 3 })), 'validation', 'INVALID_EMBEDDER_OPTIONS');
      isHappenError(throws(() => lexicalEmbedder({ trigramWeight: -1 })), 'validation', 'INVALID_EMBEDDER_OPTIONS');
      isHappenError(await rejects(lexicalEmbedder().embed([1] as never)), 'validation', 'INVALID_EMBEDDING_INPUT');
      isHappenError(throws(() => cosineSimilarity([1, 2], [1])), 'runtime', 'EMBEDDING_MISMATCH');
    });
  });

  describe('vector memory', () => {
    const notes = [
      'The orders database keeps one row per order',
      'Tomorrow the weather will be sunny and warm',
      'Sarah wants the sales report every Monday',
    ];

    test('store and retrieve the top k by cosine similarity, with minScore', async () => {
      const memory = vectorMemory({ embedder: lexicalEmbedder() });
      const [db, weather, report] = await Promise.all(notes.map((n) => memory.store(n)));
      const hits = await memory.retrieve('how many rows are in the database?');
      equal(hits[0]!.id, db!.id);
      ok(hits[0]!.score > 0.3 && hits[0]!.score <= 1, `score ${hits[0]!.score}`);
      ok(hits.every((h, i) => i === 0 || h.score <= hits[i - 1]!.score), 'best first');
      equal((await memory.retrieve('weather report', { limit: 1 })).length, 1);
      const both = (await memory.retrieve('weather report', { limit: 5 })).map((h) => h.id);
      ok(both.includes(weather!.id) && both.includes(report!.id), JSON.stringify(both));
      const strict = await memory.retrieve('database', { minScore: 0.99 });
      deepEqual(strict, []);
      // Hashed features collide now and then, so a text sharing no word with a note is near 0, not exactly 0.
      const unrelated = await memory.retrieve('quantum chromodynamics');
      ok(unrelated.every((h) => h.score < 0.1), JSON.stringify(unrelated.map((h) => h.score)));
      deepEqual(await memory.retrieve('quantum chromodynamics', { minScore: 0.1 }), []);
      const exact = await memory.retrieve(notes[2]!);
      ok(Math.abs(exact[0]!.score - 1) < 1e-9 && exact[0]!.id === report!.id);
    });

    test('update re-embeds changed content; forget removes', async () => {
      let calls = 0;
      const base = lexicalEmbedder();
      const counting: Embedder = { name: 'counting', embed: (t) => (calls++, base.embed(t)) };
      const memory = vectorMemory({ embedder: counting });
      const item = await memory.store('notes about the database schema');
      equal(calls, 1);
      await memory.update(item.id, { metadata: { pinned: true } });
      equal(calls, 1, 'a metadata change keeps the vector');
      await memory.update(item.id, { content: 'notes about the weather forecast' });
      equal(calls, 2);
      equal((await memory.retrieve('weather'))[0]!.id, item.id);
      deepEqual(await memory.retrieve('database schema', { minScore: 0.1 }), [], 'the old content no longer matches');
      deepEqual((await memory.get(item.id))!.metadata, { pinned: true });
      equal(await memory.forget(item.id), true);
      equal(await memory.forget(item.id), false);
      equal(await memory.get(item.id), undefined);
      deepEqual(await memory.retrieve('weather'), []);
      isHappenError(await rejects(memory.update(item.id, { content: 'x' })), 'runtime', 'MEMORY_NOT_FOUND');
    });

    test('TTLs are honoured', async () => {
      const c = clock();
      const storage = memoryStorage();
      const memory = vectorMemory({ embedder: lexicalEmbedder(), storage, now: c.now });
      const brief = await memory.store('the database is down', { ttl: 1_000 });
      const lasting = await memory.store('the database is large');
      c.advance(999);
      equal((await memory.retrieve('database')).length, 2);
      c.advance(1);
      deepEqual((await memory.retrieve('database')).map((h) => h.id), [lasting.id]);
      equal(await memory.get(brief.id), undefined);
      equal((await storage.list({ prefix: 'memory/vector/' })).length, 1, 'the expired item left storage');
    });

    test('items and vectors persist across instances on one storage', async () => {
      const storage = memoryStorage();
      const first = vectorMemory({ embedder: lexicalEmbedder(), storage, namespace: 'agent-1' });
      for (const note of notes) await first.store(note);
      let calls = 0;
      const base = lexicalEmbedder();
      const counting: Embedder = { name: 'counting', embed: (t) => (calls++, base.embed(t)) };
      const second = vectorMemory({ embedder: counting, storage, namespace: 'agent-1' });
      const hits = await second.retrieve('rows of the database');
      equal(hits[0]!.content, notes[0]);
      equal(calls, 1, 'only the query was embedded: stored vectors were loaded');
      deepEqual(await vectorMemory({ embedder: base, storage, namespace: 'agent-2' }).retrieve('database'), []);
    });

    test('a failing embedder rejects with its error and leaves nothing stored', async () => {
      const storage = memoryStorage();
      let fail = true;
      const base = lexicalEmbedder();
      const flaky: Embedder = {
        name: 'flaky',
        embed: async (texts) => {
          if (fail) throw new HappenError('network', 'EMBEDDINGS_UNAVAILABLE', 'the endpoint is down');
          return base.embed(texts);
        },
      };
      const memory = vectorMemory({ embedder: flaky, storage });
      isHappenError(await rejects(memory.store('database rows', { id: 'k' })), 'network', 'EMBEDDINGS_UNAVAILABLE');
      equal(await memory.get('k'), undefined);
      deepEqual(await storage.list({ prefix: '' }), []);
      fail = false;
      await memory.store('database rows', { id: 'k' });
      fail = true;
      isHappenError(await rejects(memory.retrieve('database')), 'network', 'EMBEDDINGS_UNAVAILABLE');
      isHappenError(await rejects(memory.update('k', { content: 'weather' })), 'network', 'EMBEDDINGS_UNAVAILABLE');
      equal((await memory.get('k'))!.content, 'database rows', 'a failed update changed nothing');
      const plain = vectorMemory({ embedder: { name: 'throws', embed: async () => Promise.reject(new TypeError('boom')) } });
      isHappenError(await rejects(plain.store('x')), 'runtime', 'EMBEDDING_FAILED');
    });

    test('a vector of the wrong length or shape gets EMBEDDING_MISMATCH', async () => {
      let length = 4;
      const sized: Embedder = { name: 'sized', embed: async (texts) => texts.map(() => Array.from({ length }, (_, i) => i + 1)) };
      const memory = vectorMemory({ embedder: sized });
      await memory.store('first');
      length = 5;
      isHappenError(await rejects(memory.store('second')), 'runtime', 'EMBEDDING_MISMATCH');
      isHappenError(await rejects(memory.retrieve('first')), 'runtime', 'EMBEDDING_MISMATCH');
      const none: Embedder = { name: 'none', embed: async () => [] };
      isHappenError(await rejects(vectorMemory({ embedder: none }).store('x')), 'runtime', 'EMBEDDING_MISMATCH');
      const nan: Embedder = { name: 'nan', embed: async () => [[NaN, 1]] };
      isHappenError(await rejects(vectorMemory({ embedder: nan }).store('x')), 'runtime', 'EMBEDDING_MISMATCH');
      isHappenError(throws(() => vectorMemory({} as never)), 'validation', 'INVALID_MEMORY_INPUT');
    });
  });

  describe('memory node', () => {
    const setup = (memory: MemorySystem = kvMemory(memoryStorage(), { namespace: 'm' })) => {
      const happen = createHappen();
      createMemoryNode('memory', { memory, happen });
      return { happen, ui: happen.createNode('ui') };
    };

    test('store, retrieve, get, update and forget through events', async () => {
      const { ui } = setup(vectorMemory({ embedder: lexicalEmbedder() }));
      const ask = (type: string, payload: unknown) => ui.send('memory', { type, payload }).return();
      const item = await ask('memory.store', { content: 'The orders database keeps one row per order', metadata: { source: 'db' } });
      await ask('memory.store', { content: 'Tomorrow the weather will be sunny', id: 'w', ttl: 60_000 });
      ok(typeof item.id === 'string' && item.metadata.source === 'db');
      const hits = await ask('memory.retrieve', { query: 'database rows', limit: 1 });
      equal(hits.length, 1);
      equal(hits[0].id, item.id);
      ok(hits[0].score > 0);
      equal((await ask('memory.get', { id: 'w' })).content, 'Tomorrow the weather will be sunny');
      equal(await ask('memory.get', { id: 'nope' }), null);
      equal((await ask('memory.update', { id: 'w', patch: { content: 'Rain tomorrow', ttl: null } })).expiresAt, undefined);
      equal(await ask('memory.forget', { id: 'w' }), true);
      equal(await ask('memory.forget', { id: 'w' }), false);
      isHappenError(await rejects(ask('memory.update', { id: 'w', patch: {} })), 'runtime', 'MEMORY_NOT_FOUND');
    });

    test('a bad payload gets a validation error reply and the node keeps answering', async () => {
      const { happen, ui } = setup();
      const errors: HappenEvent[] = [];
      ui.on(ERROR_EVENT, (e) => void errors.push(e));
      const ask = (type: string, payload: unknown) => ui.send('memory', { type, payload }).return();
      isHappenError(await rejects(ask('memory.store', { content: 42 })), 'validation', 'INVALID_PAYLOAD');
      isHappenError(await rejects(ask('memory.store', {})), 'validation', 'INVALID_PAYLOAD');
      isHappenError(await rejects(ask('memory.retrieve', 'just a string')), 'validation', 'INVALID_PAYLOAD');
      isHappenError(await rejects(ask('memory.retrieve', { query: 'x', limit: -1 })), 'validation', 'INVALID_PAYLOAD');
      isHappenError(await rejects(ask('memory.update', { id: 'a', patch: { colour: 'red' } })), 'validation', 'INVALID_PAYLOAD');
      isHappenError(await rejects(ask('memory.forget', undefined)), 'validation', 'INVALID_PAYLOAD');
      const error = await rejects(ask('memory.store', { content: 'x', ttl: 0, extra: 1 }));
      deepEqual(error.details.issues.map((i: { path: string[] }) => i.path), [['ttl'], ['extra']]);
      isHappenError(await rejects(ask('memory.store', { content: 'x', id: '\ud800' })), 'validation', 'INVALID_MEMORY_INPUT');
      await happen.settled();
      ok(errors.length >= 8 && errors.every((e) => e.context.causal.sender === 'memory'), 'error events from the memory node');
      const item = await ask('memory.store', { content: 'still here' });
      equal((await ask('memory.retrieve', { query: 'here' }))[0].id, item.id);
    });

    test('the node lives in the given system and replies are in the causal web', async () => {
      const { happen, ui } = setup();
      const sent = ui.send('memory', { type: 'memory.store', payload: { content: 'traced' } });
      await sent.return();
      ok(happen.nodes().includes('memory'));
      ok(happen.trace(sent.event.id).events.length >= 2, 'the request and its reply share a correlation');
    });
  });
});

// 'rows rows row' at 8 dimensions: one stem counted three times (1 + ln 3) plus its trigrams.
const EXPECTED_ROWS = [0, 0.3431487363763263, -0.8669788813861418, -0.3431487363763263, 0, 0, 0.1133380283801313, 0];
