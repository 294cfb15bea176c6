import { createHappen, type HappenEvent, type TraceNode } from '../../src/index.ts';
import { deepEqual, equal, ok } from './assert.ts';
import { describe, test } from './harness.ts';

function shape(node: TraceNode): unknown {
  return { type: node.event.type, children: node.children.map(shape) };
}

describe('causality', () => {
  test('events emitted through ctx link to the handled event, also after await', async () => {
    const happen = createHappen();
    const seen: HappenEvent[] = [];
    happen.createNode('agent').on('start', async (_e, ctx) => {
      await Promise.resolve();
      ctx.broadcast({ type: 'progress' });
    });
    happen.createNode('ui').on('progress', (e) => void seen.push(e));
    const start = happen.createNode('src').send('agent', { type: 'start' });
    await happen.settled();
    const c = seen[0]!.context.causal;
    equal(c.causationId, start.event.id);
    equal(c.correlationId, start.event.id);
    deepEqual(c.path, ['src', 'agent']);
  });

  test('events emitted synchronously inside a handler through the node link too', async () => {
    const happen = createHappen();
    const agent = happen.createNode('agent');
    const seen: HappenEvent[] = [];
    agent.on('start', () => void agent.broadcast({ type: 'progress' }));
    happen.createNode('ui').on('progress', (e) => void seen.push(e));
    const start = happen.createNode('src').broadcast({ type: 'start' });
    await happen.settled();
    equal(seen[0]!.context.causal.causationId, start.id);
  });

  test('events emitted outside any handler are roots', async () => {
    const happen = createHappen();
    const a = happen.createNode('a');
    a.on('x', () => {});
    const first = a.broadcast({ type: 'x' });
    await happen.settled();
    const second = a.broadcast({ type: 'x' });
    equal(second.context.causal.causationId, undefined);
    equal(second.context.causal.correlationId, second.id);
    ok(first.id < second.id, 'ids are time-ordered');
  });

  test('explicit causationId and correlationId are honoured', async () => {
    const happen = createHappen();
    const node = happen.createNode('n');
    const root = node.broadcast({ type: 'root' });
    const linked = node.broadcast({ type: 'later', causationId: root.id });
    equal(linked.context.causal.causationId, root.id);
    equal(linked.context.causal.correlationId, root.id, 'correlation inherited from the known cause');
    const explicit = node.broadcast({ type: 'other', correlationId: 'order-77', causationId: 'external-1' });
    equal(explicit.context.causal.correlationId, 'order-77');
    equal(explicit.context.causal.causationId, 'external-1');
    let inside: HappenEvent | undefined;
    node.on('trigger', (_e, ctx) => void (inside = ctx.broadcast({ type: 'child', correlationId: 'mine' })));
    node.broadcast({ type: 'trigger' });
    await happen.settled();
    equal(inside!.context.causal.correlationId, 'mine');
  });

  test('trace returns the causal tree of a correlation', async () => {
    const happen = createHappen();
    happen.createNode('db').on('query', () => ({ rows: 1 }));
    happen.createNode('agent').on('report', (_e, ctx) => {
      ctx.broadcast({ type: 'report.started' });
      return ctx.send('db', { type: 'query' });
    });
    happen.createNode('ui').on('report.started', () => {});
    const sent = happen.createNode('ui2').send('agent', { type: 'report' });
    await sent.return();
    const trace = happen.trace(sent.event.id);
    equal(trace.roots.length, 1);
    deepEqual(shape(trace.roots[0]!), {
      type: 'report',
      children: [
        { type: 'report.started', children: [] },
        { type: 'query', children: [{ type: 'happen.reply', children: [] }] },
        { type: 'happen.reply', children: [] },
      ],
    });
    equal(trace.events.length, 5);
  });

  test('the causal web is bounded and drops the oldest first', async () => {
    const happen = createHappen({ causalWebCapacity: 50 });
    const node = happen.createNode('n');
    const first = node.broadcast({ type: 'first' });
    for (let i = 0; i < 200; i++) node.broadcast({ type: 'fill' });
    const last = node.broadcast({ type: 'last' });
    await happen.settled();
    const events = happen.events();
    equal(events.length, 50);
    equal(events.at(-1)!.id, last.id);
    equal(happen.trace(first.id).events.length, 0, 'the oldest event was evicted');
  });

  test('a trace whose root was evicted still returns the remaining events', async () => {
    const happen = createHappen({ causalWebCapacity: 3 });
    const node = happen.createNode('n');
    const root = node.broadcast({ type: 'a' });
    const b = node.broadcast({ type: 'b', causationId: root.id });
    node.broadcast({ type: 'c', causationId: b.id });
    node.broadcast({ type: 'd', causationId: b.id });
    const trace = happen.trace(root.id);
    equal(trace.events.length, 3);
    equal(trace.roots.length, 1);
    equal(trace.roots[0]!.event.type, 'b');
    equal(trace.roots[0]!.children.length, 2);
  });

  test('the path keeps the last 32 hops', async () => {
    const happen = createHappen();
    const a = happen.createNode('a');
    const b = happen.createNode('b');
    let last: HappenEvent | undefined;
    a.on('ping', (e, ctx) => void (e.payload < 40 && ctx.send('b', { type: 'ping', payload: e.payload + 1 })));
    b.on('ping', (e, ctx) => {
      last = e;
      if (e.payload < 40) ctx.send('a', { type: 'ping', payload: e.payload + 1 });
    });
    a.send('b', { type: 'ping', payload: 0 });
    await happen.settled();
    equal(last!.context.causal.path.length, 32);
    equal(last!.context.causal.path.at(-1), 'a');
  });
});
