import { authorize, createHappen, ERROR_EVENT, logging, rateLimit, type HappenEvent, type Middleware } from '../../src/index.ts';
import { deepEqual, equal, isHappenError, ok, rejects } from './assert.ts';
import { describe, test } from './harness.ts';

describe('middleware', () => {
  test('middleware composes in order, outermost first, around handling', async () => {
    const happen = createHappen();
    const order: string[] = [];
    const mw = (name: string): Middleware => ({
      handle: async (_e, _ctx, next) => {
        order.push(`${name} in`);
        const result = await next();
        order.push(`${name} out`);
        return result;
      },
    });
    const node = happen.createNode('n').use(mw('outer'), mw('inner'));
    node.on('x', () => void order.push('handler'));
    await happen.createNode('ui').send('n', { type: 'x' }).return();
    deepEqual(order, ['outer in', 'inner in', 'handler', 'inner out', 'outer out']);
  });

  test('handle middleware can change the result', async () => {
    const happen = createHappen();
    const node = happen.createNode('n').use({ handle: async (_e, _c, next) => ({ wrapped: await next() }) });
    node.on('x', () => 1);
    deepEqual(await happen.createNode('ui').send('n', { type: 'x' }).return(), { wrapped: 1 });
  });

  test('emit middleware transforms outgoing events', async () => {
    const happen = createHappen();
    const seen: unknown[] = [];
    happen.createNode('sink').on('t', (e) => void seen.push(e.payload));
    const src = happen.createNode('src').use({ emit: (e, next) => next({ ...e, payload: { ...e.payload, stamped: true } }) });
    const emitted = src.broadcast({ type: 't', payload: { v: 1 } });
    await happen.settled();
    deepEqual(seen, [{ v: 1, stamped: true }]);
    deepEqual(emitted.payload, { v: 1, stamped: true });
  });

  test('logging logs emits and handling', async () => {
    const happen = createHappen();
    const lines: string[] = [];
    const node = happen.createNode('n').use(logging({ log: (l) => void lines.push(l) }));
    node.on('x', () => 1);
    node.send('n', { type: 'x' });
    await happen.settled();
    ok(lines.some((l) => l.includes('n → n x')), lines.join('\n'));
    ok(lines.some((l) => /x from n handled in \d+ ms/.test(l)), lines.join('\n'));
  });

  test('rateLimit rejects events over the limit with RATE_LIMITED', async () => {
    const happen = createHappen();
    const node = happen.createNode('api').use(rateLimit({ limit: 2, windowMs: 60_000 }));
    let handled = 0;
    node.on('call', () => ++handled);
    const ui = happen.createNode('ui');
    equal(await ui.send('api', { type: 'call' }).return(), 1);
    equal(await ui.send('api', { type: 'call' }).return(), 2);
    isHappenError(await rejects(ui.send('api', { type: 'call' }).return()), 'runtime', 'RATE_LIMITED');
    equal(await happen.createNode('other').send('api', { type: 'call' }).return(), 3, 'limits are per sender');
  });

  test('authorize denies with a security error event to the sender', async () => {
    const happen = createHappen();
    const vault = happen.createNode('vault').use(authorize((e) => e.context.causal.sender === 'admin'));
    vault.on('open', () => 'opened');
    equal(await happen.createNode('admin').send('vault', { type: 'open' }).return(), 'opened');
    const intruder = happen.createNode('intruder');
    const errors: HappenEvent[] = [];
    intruder.on(ERROR_EVENT, (e) => void errors.push(e));
    isHappenError(await rejects(intruder.send('vault', { type: 'open' }).return()), 'security', 'UNAUTHORIZED');
    await happen.settled();
    equal(errors.length, 1);
    equal(errors[0]!.payload.category, 'security');
  });

  test('async authorize works', async () => {
    const happen = createHappen();
    const vault = happen.createNode('vault').use(authorize(async (e) => e.payload === 'pw'));
    vault.on('open', () => 'opened');
    const ui = happen.createNode('ui');
    equal(await ui.send('vault', { type: 'open', payload: 'pw' }).return(), 'opened');
    isHappenError(await rejects(ui.send('vault', { type: 'open', payload: 'no' }).return()), 'security', 'UNAUTHORIZED');
  });
});
