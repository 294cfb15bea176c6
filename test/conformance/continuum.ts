import { createHappen, type Handler } from '../../src/index.ts';
import { deepEqual, equal, isHappenError, rejects } from './assert.ts';
import { describe, test } from './harness.ts';

describe('continuum', () => {
  test('a handler returning a function continues with the same event and ctx', async () => {
    const happen = createHappen();
    happen.createNode('flow').on('go', (event, ctx) => {
      ctx.total = event.payload;
      return (e: typeof event, c: typeof ctx) => {
        c.total = (c.total as number) * 2;
        return () => ({ total: ctx.total, same: e === event && c === ctx });
      };
    });
    deepEqual(await happen.createNode('ui').send('flow', { type: 'go', payload: 21 }).return(), { total: 42, same: true });
  });

  test('sync and async steps mix', async () => {
    const happen = createHappen();
    const order: string[] = [];
    happen.createNode('flow').on('go', () => {
      order.push('1 sync');
      return async () => {
        order.push('2 async');
        await Promise.resolve();
        return () => {
          order.push('3 sync');
          return async () => 'done';
        };
      };
    });
    equal(await happen.createNode('ui').send('flow', { type: 'go' }).return(), 'done');
    deepEqual(order, ['1 sync', '2 async', '3 sync']);
  });

  test('a chain of 1,000 synchronous steps does not overflow the stack', async () => {
    const happen = createHappen();
    happen.createNode('flow').on('go', (_e, ctx) => {
      ctx.n = 0;
      const step: Handler = () => ((ctx.n as number)++ < 1000 ? step : ctx.n);
      return step;
    });
    equal(await happen.createNode('ui').send('flow', { type: 'go' }).return(), 1001);
  });

  test('a chain of 1,000 async steps completes', async () => {
    const happen = createHappen();
    happen.createNode('flow').on('go', () => {
      let n = 0;
      const step: Handler = async () => (n++ < 1000 ? step : n);
      return step;
    });
    equal(await happen.createNode('ui').send('flow', { type: 'go' }).return(), 1001);
  });

  test('a chain of 10,000 synchronous steps completes', async () => {
    const happen = createHappen();
    happen.createNode('flow').on('go', () => {
      let n = 0;
      const step: Handler = () => (n++ < 10_000 ? step : n);
      return step;
    });
    equal(await happen.createNode('ui').send('flow', { type: 'go' }).return(), 10_001);
  });

  test('a throw in a later step ends the flow with the error', async () => {
    const happen = createHappen();
    const ran: string[] = [];
    happen.createNode('flow').on('go', () => {
      ran.push('first');
      return async () => {
        ran.push('second');
        throw new Error('broke in step 2');
      };
    });
    const error = await rejects(happen.createNode('ui').send('flow', { type: 'go' }).return());
    isHappenError(error, 'runtime', 'HANDLER_ERROR');
    equal(error.message, 'broke in step 2');
    deepEqual(ran, ['first', 'second']);
  });

  test('returning a send hands over to the other node and ends with its result', async () => {
    const happen = createHappen();
    happen.createNode('b').on('work', async (e) => e.payload * 10);
    happen.createNode('a').on('start', (e, ctx) => () => ctx.send('b', { type: 'work', payload: e.payload }));
    equal(await happen.createNode('ui').send('a', { type: 'start', payload: 4 }).return(), 40);
  });
});
