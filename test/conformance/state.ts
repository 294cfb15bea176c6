import { createHappen } from '../../src/index.ts';
import { deepEqual, equal, isHappenError, rejects, throws } from './assert.ts';
import { describe, test } from './harness.ts';

describe('state', () => {
  test('get, get with a selector, set with a value or an updater', () => {
    const node = createHappen().createNode('cart', { state: { items: [] as string[], total: 0 } });
    equal(node.state.get((s) => s.total), 0);
    node.state.set({ items: ['a'], total: 1 });
    const next = node.state.set((s) => ({ items: [...s.items, 'b'], total: s.total + 1 }));
    deepEqual(next, { items: ['a', 'b'], total: 2 });
    deepEqual(node.state.get(), next);
  });

  test('handlers read and update their node state through ctx', async () => {
    const happen = createHappen();
    const counter = happen.createNode('counter', { state: { n: 0 } });
    counter.on('inc', (_e, ctx) => ctx.state.set((s: { n: number }) => ({ n: s.n + 1 })).n);
    const ui = happen.createNode('ui');
    await ui.send('counter', { type: 'inc' }).return();
    equal(await ui.send('counter', { type: 'inc' }).return(), 2);
  });

  test('views read other nodes state in handlers', async () => {
    const happen = createHappen();
    happen.createNode('inventory', { state: { stock: { apple: 3 } } });
    happen.createNode('shop').on('can-buy', (e, ctx) => ctx.views.get('inventory', (s) => s.stock[e.payload] > 0));
    equal(await happen.createNode('ui').send('shop', { type: 'can-buy', payload: 'apple' }).return(), true);
    equal(await happen.createNode('ui2').send('shop', { type: 'can-buy', payload: 'pear' }).return(), false);
  });

  test('a view of a missing node is a NO_SUCH_NODE error', async () => {
    const happen = createHappen();
    happen.createNode('shop').on('look', (_e, ctx) => ctx.views.get('nowhere'));
    isHappenError(await rejects(happen.createNode('ui').send('shop', { type: 'look' }).return()), 'runtime', 'NO_SUCH_NODE');
  });

  test('preStateChange can transform or veto; postStateChange sees the change', () => {
    const node = createHappen().createNode('n', { state: { n: 0 } });
    const changes: Array<[number, number]> = [];
    node.hook('preStateChange', (_prev, next) => (next.n < 0 ? false : { n: Math.min(next.n, 10) }));
    node.hook('postStateChange', (prev, next) => void changes.push([prev.n, next.n]));
    node.state.set({ n: 5 });
    node.state.set({ n: -1 });
    node.state.set({ n: 99 });
    equal(node.state.get().n, 10);
    deepEqual(changes, [
      [0, 5],
      [5, 10],
    ]);
  });

  test('a throwing state hook surfaces to the caller and leaves state unchanged', () => {
    const node = createHappen().createNode('n', { state: { n: 0 } });
    node.hook('preStateChange', () => {
      throw new Error('nope');
    });
    throws(() => node.state.set({ n: 1 }));
    equal(node.state.get().n, 0);
  });
});
