import { createHappen, createIdGenerator, idTime } from '../../src/index.ts';
import { deepEqual, equal, isHappenError, ok, throws } from './assert.ts';
import { describe, test } from './harness.ts';

describe('events', () => {
  test('ids are unique and sort in creation order', () => {
    const next = createIdGenerator();
    const ids = Array.from({ length: 5000 }, next);
    equal(new Set(ids).size, ids.length, 'unique');
    deepEqual([...ids].sort(), ids, 'sorted');
  });

  test('ids stay ordered when the clock runs backwards', () => {
    let now = 1_000_000;
    const next = createIdGenerator(() => now);
    const a = next();
    now -= 500;
    const b = next();
    ok(a < b, `${a} < ${b}`);
  });

  test('ids carry their millisecond and differ between generators', () => {
    const at = Date.UTC(2026, 0, 1);
    const a = createIdGenerator(() => at)();
    const b = createIdGenerator(() => at)();
    equal(idTime(a), at);
    ok(a !== b, 'two generators never collide');
  });

  test('delivery is a microtask: in order with the microtasks queued around the emit, before any timer', async () => {
    const happen = createHappen();
    const order: string[] = [];
    happen.createNode('sub').on('tick', () => void order.push('handled'));
    const source = happen.createNode('source');
    setTimeout(() => order.push('timer'), 0);
    queueMicrotask(() => order.push('queued before'));
    source.broadcast({ type: 'tick' });
    void Promise.resolve().then(() => order.push('chained after'));
    queueMicrotask(() => order.push('queued after'));
    order.push('sync');
    await new Promise((resolve) => setTimeout(resolve, 10));
    deepEqual(order, ['sync', 'queued before', 'handled', 'chained after', 'queued after', 'timer']);
  });

  test('an emitted event has the full causal context', async () => {
    const happen = createHappen();
    const node = happen.createNode('orders');
    const before = Date.now();
    const event = node.broadcast({ type: 'order.created', payload: { id: 7 } });
    equal(event.type, 'order.created');
    deepEqual(event.payload, { id: 7 });
    const c = event.context.causal;
    equal(c.id, event.id);
    equal(c.sender, 'orders');
    equal(c.causationId, undefined);
    equal(c.correlationId, event.id, 'a root event correlates to itself');
    deepEqual(c.path, ['orders']);
    ok(c.timestamp >= before && c.timestamp <= Date.now(), 'timestamp is now');
    await happen.settled();
  });

  test('send records its target in the context', async () => {
    const happen = createHappen();
    happen.createNode('b').on('ping', () => 'pong');
    const sent = happen.createNode('a').send('b', { type: 'ping' });
    equal(sent.event.context.target, 'b');
    equal(await sent.return(), 'pong');
  });

  test('extra context fields travel but never override causal data', async () => {
    const happen = createHappen();
    const event = happen.createNode('a').broadcast({ type: 't', context: { traceparent: 'x', causal: 'forged', target: 'forged' } });
    equal(event.context.traceparent, 'x');
    equal(event.context.causal.sender, 'a');
    equal(event.context.target, undefined);
  });

  test('malformed events are validation errors thrown to the emitter', () => {
    const node = createHappen().createNode('a');
    for (const type of ['', ' ', 'a..b', '.a', 'a.', 'has space', 'x'.repeat(300), 7]) {
      isHappenError(throws(() => node.broadcast({ type } as never)), 'validation', 'INVALID_EVENT_TYPE');
    }
    isHappenError(throws(() => node.broadcast(null as never)), 'validation', 'INVALID_EVENT');
    isHappenError(throws(() => node.send('', { type: 'a' })), 'validation', 'INVALID_TARGET');
  });
});
