/** Confluence: node arrays (fan-out with every node's result) and batch handlers (fan-in). */
import { createHappen, ERROR_EVENT, HappenError, type HandlerContext, type HappenEvent } from '../../src/index.ts';
import { batchHandler, createNodeArray, type BatchInfo, type NodeResult } from '../../src/workflow/index.ts';
import { deepEqual, equal, isHappenError, ok, rejects, sleep, throws } from './assert.ts';
import { describe, test } from './harness.ts';
import './confluence-batching.ts';

describe('confluence', () => {
  describe('node arrays', () => {
    test('send(...).return() gives every node its own entry, in order: a value, a throw, a missing node, a timeout', async () => {
      const happen = createHappen();
      const ui = happen.createNode('ui');
      const fast = happen.createNode('fast');
      fast.on('work', (e) => ({ doubled: e.payload.n * 2 }));
      happen.createNode('broken').on('work', () => {
        throw new HappenError('runtime', 'BROKEN', 'broken on purpose');
      });
      happen.createNode('slow').on('work', () => sleep(150).then(() => 'late'));
      const group = createNodeArray([fast, 'broken', 'absent', 'slow'], { from: ui });
      deepEqual(group.ids, ['fast', 'broken', 'absent', 'slow']);
      const sent = group.send<{ doubled: number }>({ type: 'work', payload: { n: 21 } });
      equal(sent.events.length, 4, 'one event per node');
      deepEqual(sent.events.map((e) => e.context.target), ['fast', 'broken', 'absent', 'slow']);
      const started = Date.now();
      const results = await sent.return({ timeout: 40 });
      ok(Date.now() - started < 140, 'the slow node did not hold the others beyond the timeout');
      equal(results.length, 4);
      deepEqual(results[0], { node: 'fast', ok: true, value: { doubled: 42 } });
      const failed = results.slice(1) as Array<Extract<NodeResult, { ok: false }>>;
      deepEqual(failed.map((r) => [r.node, r.ok, r.error.code]), [
        ['broken', false, 'BROKEN'],
        ['absent', false, 'NO_SUCH_NODE'],
        ['slow', false, 'TIMEOUT'],
      ]);
      deepEqual(failed.map((r) => r.error.category), ['runtime', 'runtime', 'timeout']);
      ok(failed.every((r) => typeof r.error.message === 'string' && !(r.error instanceof Error)), 'errors are plain serialized values');
      equal(await sent.return(), results, 'return() is one collection, however often it is called');
      await happen.settled(); // the slow node finishes its flow
    });

    test('results follow the array order, not the order nodes answer in', async () => {
      const happen = createHappen();
      const ui = happen.createNode('ui');
      const answered: string[] = [];
      const ids = ['n1', 'n2', 'n3', 'n4'];
      ids.forEach((id, i) =>
        happen.createNode(id).on('ask', async () => {
          await sleep((ids.length - i) * 8); // the last answers first
          answered.push(id);
          return id;
        }),
      );
      const results = await createNodeArray(ids, { from: ui }).send<string>({ type: 'ask' }).return({ timeout: 2_000 });
      deepEqual(answered, ['n4', 'n3', 'n2', 'n1']);
      deepEqual(results, ids.map((id) => ({ node: id, ok: true, value: id })));
    });

    test('from a handler context, the fan-out is caused by the handled event (both forms)', async () => {
      const happen = createHappen();
      for (const id of ['w1', 'w2']) happen.createNode(id).on('part', (e) => `${id}:${e.payload}`);
      const workers = createNodeArray(['w1', 'w2']);
      const coordinator = happen.createNode('coordinator');
      coordinator.on('job', (_e, ctx) => createNodeArray(workers.ids, { from: ctx }).send({ type: 'part', payload: 'a' }).return());
      coordinator.on('job.bound', (_e, ctx) => workers.from(ctx).send({ type: 'part', payload: 'b' }).return());
      const ui = happen.createNode('ui');
      for (const [type, tag] of [['job', 'a'], ['job.bound', 'b']] as const) {
        const sent = ui.send('coordinator', { type });
        const results = (await sent.return({ timeout: 2_000 })) as NodeResult<string>[];
        deepEqual(results.map((r) => (r.ok ? r.value : r.error.code)), [`w1:${tag}`, `w2:${tag}`]);
        const tree = happen.trace(sent.event.context.causal.correlationId);
        const parts = tree.events.filter((e) => e.type === 'part');
        equal(parts.length, 2, `both parts are in the request's causal tree (${type})`);
        for (const part of parts) {
          equal(part.context.causal.causationId, sent.event.id, 'caused by the handled event');
          equal(part.context.causal.sender, 'coordinator');
          deepEqual(part.context.causal.path, ['ui', 'coordinator']);
        }
      }
      await happen.settled();
    });

    test('broadcast() sends to each node of the array without waiting; only the array hears it', async () => {
      const happen = createHappen();
      const heard: string[] = [];
      for (const id of ['a', 'b', 'c']) happen.createNode(id).on('note', (e) => void heard.push(`${id}:${e.payload}`));
      const src = happen.createNode('src');
      const events = createNodeArray(['c', 'a'], { from: src }).broadcast({ type: 'note', payload: 1 });
      deepEqual(events.map((e) => e.context.target), ['c', 'a']);
      await happen.settled();
      deepEqual(heard, ['c:1', 'a:1']);
      deepEqual(await createNodeArray([], { from: src }).send({ type: 'note' }).return(), [], 'an empty array collects nothing');
    });

    test('bad arrays, senders, timeouts and events are typed errors', async () => {
      const happen = createHappen();
      const ui = happen.createNode('ui');
      isHappenError(throws(() => createNodeArray('a' as never)), 'validation', 'INVALID_CONFIG');
      isHappenError(throws(() => createNodeArray(['a', ''])), 'validation', 'INVALID_CONFIG');
      isHappenError(throws(() => createNodeArray(['a', 'has space'])), 'validation', 'INVALID_CONFIG');
      isHappenError(throws(() => createNodeArray([{} as never])), 'validation', 'INVALID_CONFIG');
      isHappenError(throws(() => createNodeArray(['a', 'b', 'a'])), 'validation', 'INVALID_CONFIG');
      isHappenError(throws(() => createNodeArray(['a'], { from: {} as never })), 'validation', 'INVALID_CONFIG');
      isHappenError(throws(() => createNodeArray(['a'], { from: ui, timeout: 0 })), 'validation', 'INVALID_CONFIG');
      isHappenError(throws(() => createNodeArray(['a']).send({ type: 'x' })), 'validation', 'INVALID_CONFIG');
      isHappenError(throws(() => createNodeArray(['a']).broadcast({ type: 'x' })), 'validation', 'INVALID_CONFIG');
      const group = createNodeArray(['a'], { from: ui });
      isHappenError(throws(() => group.from(null as never)), 'validation', 'INVALID_CONFIG');
      isHappenError(throws(() => group.send({ type: 'bad type' })), 'validation', 'INVALID_EVENT_TYPE');
      isHappenError(throws(() => group.send(null as never)), 'validation', 'INVALID_EVENT');
      isHappenError(throws(() => group.send({ type: 'x' }).return({ timeout: -5 })), 'validation', 'INVALID_CONFIG');
      deepEqual((await group.send({ type: 'x' }).return({ timeout: 500 }))[0], { node: 'a', ok: false, error: { category: 'runtime', code: 'NO_SUCH_NODE', message: 'No node "a" exists', details: { target: 'a' } } });
      await happen.settled();
    });
  });

  describe('batch handlers', () => {
    test('a batch is handled once it is full; the rest waits for its window', async () => {
      const happen = createHappen();
      const batches: Array<{ payloads: number[]; reason: BatchInfo['reason'] }> = [];
      happen.createNode('sink').on(
        'item',
        batchHandler((events, _ctx, batch) => {
          batches.push({ payloads: events.map((e) => e.payload), reason: batch.reason });
          return events.length;
        }, { maxSize: 3, windowMs: 30 }),
      );
      const ui = happen.createNode('ui');
      const sends = [1, 2, 3, 4, 5, 6, 7].map((n) => ui.send('sink', { type: 'item', payload: n }));
      await sleep(5);
      deepEqual(batches, [{ payloads: [1, 2, 3], reason: 'size' }, { payloads: [4, 5, 6], reason: 'size' }], 'full batches go at once');
      const results = await Promise.all(sends.map((s) => s.return({ timeout: 2_000 })));
      deepEqual(batches[2], { payloads: [7], reason: 'window' });
      deepEqual(results, [3, 3, 3, 3, 3, 3, 1], 'each send ends with its batch result');
    });

    test('the window gathers events arriving over time, and then a new batch opens', async () => {
      const happen = createHappen();
      const batches: number[][] = [];
      happen.createNode('sink').on('tick', batchHandler((events) => void batches.push(events.map((e) => e.payload)), { maxSize: 100, windowMs: 60 }));
      const src = happen.createNode('src');
      src.broadcast({ type: 'tick', payload: 1 });
      await sleep(10);
      src.broadcast({ type: 'tick', payload: 2 });
      await sleep(10);
      src.broadcast({ type: 'tick', payload: 3 });
      equal(batches.length, 0, 'nothing handled while the window is open');
      await happen.settled();
      deepEqual(batches, [[1, 2, 3]]);
      src.broadcast({ type: 'tick', payload: 4 });
      await happen.settled();
      deepEqual(batches, [[1, 2, 3], [4]]);
    });

    test('windowMs 0 batches the events of one synchronous burst', async () => {
      const happen = createHappen();
      const sizes: number[] = [];
      happen.createNode('sink').on('tick', batchHandler((events) => void sizes.push(events.length)));
      const src = happen.createNode('src');
      for (let i = 0; i < 5; i++) src.broadcast({ type: 'tick', payload: i });
      await happen.settled();
      src.broadcast({ type: 'tick', payload: 5 });
      await happen.settled();
      deepEqual(sizes, [5, 1]);
    });

    test('an array of the batch length gives each event its own result; any other value is shared', async () => {
      const happen = createHappen();
      const sink = happen.createNode('sink');
      sink.on('double', batchHandler(async (events) => events.map((e) => e.payload * 2), { maxSize: 3, windowMs: 500 }));
      sink.on('sum', batchHandler((events) => ({ sum: events.reduce((a, e) => a + e.payload, 0) }), { maxSize: 2, windowMs: 500 }));
      sink.on('short', batchHandler(() => ['only one'], { maxSize: 2, windowMs: 500 }));
      const ui = happen.createNode('ui');
      const ask = (type: string, n: number) => ui.send('sink', { type, payload: n }).return({ timeout: 2_000 });
      deepEqual(await Promise.all([ask('double', 1), ask('double', 2), ask('double', 3)]), [2, 4, 6]);
      deepEqual(await Promise.all([ask('sum', 1), ask('sum', 2)]), [{ sum: 3 }, { sum: 3 }]);
      deepEqual(await Promise.all([ask('short', 1), ask('short', 2)]), [['only one'], ['only one']]);
    });

    test('a throwing batch fails every one of its events, each with its own error event', async () => {
      const happen = createHappen();
      let calls = 0;
      const sink = happen.createNode('sink');
      sink.on('job', batchHandler(() => {
        calls++;
        throw new HappenError('runtime', 'BATCH_FAILED', 'the batch failed');
      }, { maxSize: 3, windowMs: 500 }));
      sink.on('async.job', batchHandler(async () => Promise.reject(new Error('plain rejection')), { maxSize: 2, windowMs: 500 }));
      const ui = happen.createNode('ui');
      const errors: HappenEvent[] = [];
      ui.on(ERROR_EVENT, (e) => void errors.push(e));
      const sends = [1, 2, 3].map((n) => ui.send('sink', { type: 'job', payload: n }));
      for (const s of sends) isHappenError(await rejects(s.return({ timeout: 2_000 })), 'runtime', 'BATCH_FAILED');
      equal(calls, 1, 'the handler ran once for the batch');
      const more = [1, 2].map((n) => ui.send('sink', { type: 'async.job', payload: n }));
      for (const s of more) isHappenError(await rejects(s.return({ timeout: 2_000 })), 'runtime', 'HANDLER_ERROR');
      await happen.settled();
      deepEqual(errors.map((e) => e.payload.eventId).sort(), [...sends, ...more].map((s) => s.event.id).sort(), 'one error event per failed event');
      ok(errors.every((e) => e.context.causal.causationId === e.payload.eventId), 'each error is caused by its own event');
    });

    test('settled() waits for open windows; every event is handled exactly once', async () => {
      const happen = createHappen();
      const seen: string[] = [];
      happen.createNode('sink').on('n', batchHandler(async (events) => {
        await sleep(5);
        for (const e of events) seen.push(e.id);
      }, { maxSize: 4, windowMs: 25 }));
      const src = happen.createNode('src');
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push(src.broadcast({ type: 'n', payload: i }).id);
      await sleep(3);
      for (let i = 0; i < 3; i++) ids.push(src.broadcast({ type: 'n', payload: i }).id);
      await happen.settled();
      equal(seen.length, ids.length, 'nothing lost or handled twice');
      deepEqual([...seen].sort(), [...ids].sort());
    });

    test('batches are per node; ctx belongs to the first event and contexts[i] to event i', async () => {
      const happen = createHappen();
      const batches: string[][] = [];
      const shared = batchHandler((events, ctx, batch) => {
        batches.push(events.map((e) => `${ctx.node.id}:${e.payload}`));
        ctx.broadcast({ type: 'batch.done', payload: events.length });
        batch.contexts.forEach((c: HandlerContext, i) => {
          equal(c.event, events[i], 'contexts line up with events');
          c.broadcast({ type: 'item.done', payload: events[i]!.payload });
        });
      }, { windowMs: 20 });
      happen.createNode('left').on('job', shared);
      happen.createNode('right').on('job', shared);
      const src = happen.createNode('src');
      const sent = [src.send('left', { type: 'job', payload: 1 }), src.send('right', { type: 'job', payload: 2 }), src.send('left', { type: 'job', payload: 3 })];
      await happen.settled();
      deepEqual(batches.sort(), [['left:1', 'left:3'], ['right:2']]);
      const done = happen.events().filter((e) => e.type === 'batch.done' && e.context.causal.sender === 'left')[0]!;
      equal(done.context.causal.causationId, sent[0]!.event.id, 'the batch ctx emits as the first event');
      const items = happen.events().filter((e) => e.type === 'item.done');
      for (const item of items) {
        const cause = sent.find((s) => s.event.payload === item.payload)!;
        equal(item.context.causal.causationId, cause.event.id, 'each context emits as its own event');
      }
      equal(items.length, 3);
    });

    test('replayed events are handled alone, at once', async () => {
      const happen = createHappen();
      const batches: Array<[number, string]> = [];
      const node = happen.createNode('sink');
      node.on('n', batchHandler((events, _ctx, batch) => void batches.push([events.length, batch.reason]), { maxSize: 10, windowMs: 5_000 }));
      const src = happen.createNode('src');
      const past = [src.broadcast({ type: 'n.other' }), src.broadcast({ type: 'n.other' })].map((e) => ({ ...e, type: 'n' }));
      const started = Date.now();
      equal(await node.replay(past), 2);
      ok(Date.now() - started < 1_000, 'the replay did not wait for windows');
      deepEqual(batches, [[1, 'replay'], [1, 'replay']]);
      await happen.settled();
    });

    test('bad options are typed errors', () => {
      isHappenError(throws(() => batchHandler('nope' as never)), 'validation', 'INVALID_CONFIG');
      for (const options of [{ maxSize: 0 }, { maxSize: 1.5 }, { maxSize: Number.NaN }, { windowMs: -1 }, { windowMs: Number.NaN }, { windowMs: Infinity }, { windowMs: '5' as never }]) {
        isHappenError(throws(() => batchHandler(() => undefined, options)), 'validation', 'INVALID_CONFIG');
      }
    });
  });
});
