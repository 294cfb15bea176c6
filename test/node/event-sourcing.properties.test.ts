import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createHappen, type HappenEvent } from '../../src/index.ts';
import { createEventSourcedNode, memoryStorage, replay } from '../../src/storage/index.ts';

interface Cart {
  items: string[];
  total: number;
  discount: number;
}

// Order-sensitive reducers: any misplaced, lost or repeated event changes the state.
const reducers = {
  'cart.added': (s: Cart, e: HappenEvent) => ({ ...s, items: [...s.items, e.payload.sku], total: s.total + e.payload.price }),
  'cart.removed': (s: Cart) => ({ ...s, items: s.items.slice(1), total: Math.max(0, s.total - 1) }),
  'cart.discounted': (s: Cart, e: HappenEvent) => ({ ...s, discount: e.payload, total: Math.round(s.total * (100 - e.payload)) / 100 }),
};
const initialState: Cart = { items: [], total: 0, discount: 0 };

const eventArb = fc.oneof(
  fc.record({ type: fc.constant('cart.added'), payload: fc.record({ sku: fc.string({ maxLength: 4 }), price: fc.integer({ min: 0, max: 500 }) }) }),
  fc.record({ type: fc.constant('cart.removed'), payload: fc.constant(null) }),
  fc.record({ type: fc.constant('cart.discounted'), payload: fc.integer({ min: 0, max: 50 }) }),
);

describe('[node] event sourcing properties', () => {
  test('getStateAt(n) equals the live state after event n; restarting and replaying reproduce the final state', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(eventArb, { maxLength: 40 }), fc.integer({ min: 1, max: 8 }), async (history, snapshotEvery) => {
        const storage = memoryStorage();
        const happen = createHappen();
        const cart = createEventSourcedNode('cart', { reducers, storage, initialState, snapshotEvery, happen });
        await cart.ready;
        const live: Cart[] = [cart.state.get()];
        for (const input of history) {
          await cart.append(input);
          live.push(cart.state.get());
        }
        await happen.settled();
        for (let n = 0; n <= history.length; n++) expect(await cart.getStateAt(n)).toEqual(live[n]);

        const restarted = createEventSourcedNode('cart', { reducers, storage, initialState, snapshotEvery, happen: createHappen() });
        await restarted.ready;
        expect(restarted.state.get()).toEqual(live[history.length]);

        // A plain node whose handlers are the reducers, fed the whole log, ends in the same state.
        const replica = createHappen().createNode('replica', { state: initialState });
        for (const [type, reduce] of Object.entries(reducers)) replica.on(type, (e) => void replica.state.set((s) => reduce(s, e)));
        expect(await replay(cart.log, replica)).toBe(history.length);
        expect(replica.state.get()).toEqual(live[history.length]);
      }),
      { numRuns: 60 },
    );
  });
});
