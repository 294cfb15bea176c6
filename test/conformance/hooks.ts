import { createHappen, type HappenEvent, type Outcome } from '../../src/index.ts';
import { deepEqual, equal, isHappenError, rejects } from './assert.ts';
import { describe, test } from './harness.ts';

describe('hooks', () => {
  test('preEmit can replace an event or drop it', async () => {
    const happen = createHappen();
    const seen: unknown[] = [];
    happen.createNode('sink').on('**', (e) => void seen.push(e.payload));
    const src = happen.createNode('src');
    src.hook('preEmit', (e) => (e.payload === 'secret' ? false : { ...e, payload: `${e.payload}!` }));
    src.broadcast({ type: 'a', payload: 'hi' });
    src.broadcast({ type: 'a', payload: 'secret' });
    await happen.settled();
    deepEqual(seen, ['hi!']);
  });

  test('a send dropped by preEmit rejects with EMIT_CANCELLED', async () => {
    const happen = createHappen();
    happen.createNode('b').on('x', () => 1);
    const a = happen.createNode('a');
    a.hook('preEmit', () => false);
    isHappenError(await rejects(a.send('b', { type: 'x' }).return()), 'runtime', 'EMIT_CANCELLED');
  });

  test('hooks run by priority (higher first), then registration order', async () => {
    const happen = createHappen();
    const order: string[] = [];
    const node = happen.createNode('n');
    node.on('x', () => void order.push('handler'));
    node.hook('preHandle', () => void order.push('p0-a'));
    node.hook('preHandle', () => void order.push('p10'), { priority: 10 });
    node.hook('preHandle', () => void order.push('p0-b'));
    node.hook('preHandle', () => void order.push('p-5'), { priority: -5 });
    node.broadcast({ type: 'x' });
    await happen.settled();
    deepEqual(order, ['p10', 'p0-a', 'p0-b', 'p-5', 'handler']);
  });

  test('type filters limit hooks to matching events', async () => {
    const happen = createHappen();
    const hooked: string[] = [];
    const node = happen.createNode('n');
    node.on('**', () => {});
    node.hook('preHandle', (e) => void hooked.push(e.type), { types: 'order.*' });
    node.broadcast({ type: 'order.created' });
    node.broadcast({ type: 'user.created' });
    await happen.settled();
    deepEqual(hooked, ['order.created']);
  });

  test('preHandle returning false skips the handlers', async () => {
    const happen = createHappen();
    let ran = false;
    const node = happen.createNode('n');
    node.on('x', () => void (ran = true));
    node.hook('preHandle', () => false);
    node.broadcast({ type: 'x' });
    await happen.settled();
    equal(ran, false);
  });

  test('postHandle sees the outcome of the flows, value or error', async () => {
    const happen = createHappen();
    const outcomes: Array<[string, Outcome]> = [];
    const node = happen.createNode('n');
    node.on('good', async () => 7);
    node.on('bad', () => {
      throw new Error('boom');
    });
    node.hook('postHandle', (e: HappenEvent, _ctx, outcome) => void outcomes.push([e.type, outcome]));
    node.broadcast({ type: 'good' });
    node.broadcast({ type: 'bad' });
    await happen.settled();
    const byType = Object.fromEntries(outcomes);
    deepEqual(byType.good, { ok: true, value: 7 });
    equal(byType.bad!.ok, false);
    equal(!byType.bad!.ok && byType.bad!.error.code, 'HANDLER_ERROR');
  });

  test('unregistering a hook stops it', async () => {
    const happen = createHappen();
    let calls = 0;
    const node = happen.createNode('n');
    node.on('x', () => {});
    const off = node.hook('preHandle', () => void calls++);
    node.broadcast({ type: 'x' });
    await happen.settled();
    off();
    node.broadcast({ type: 'x' });
    await happen.settled();
    equal(calls, 1);
  });
});
