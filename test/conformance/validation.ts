import * as v from 'valibot';
import { createHappen, defineEvent, ERROR_EVENT, type HappenEvent } from '../../src/index.ts';
import { deepEqual, equal, isHappenError, ok, rejects, throws } from './assert.ts';
import { describe, test } from './harness.ts';

const Order = v.object({ id: v.string(), qty: v.pipe(v.number(), v.integer(), v.minValue(1)) });

describe('validation', () => {
  test('on(type, { schema }) passes valid payloads to the handler', async () => {
    const happen = createHappen();
    happen.createNode('orders').on('order.create', { schema: Order }, (e) => e.payload.qty * 2);
    equal(await happen.createNode('ui').send('orders', { type: 'order.create', payload: { id: 'a', qty: 2 } }).return(), 4);
  });

  test('invalid payloads never reach the handler and the sender gets a validation error event', async () => {
    const happen = createHappen();
    let ran = false;
    happen.createNode('orders').on('order.create', { schema: Order }, () => void (ran = true));
    const ui = happen.createNode('ui');
    const errors: HappenEvent[] = [];
    ui.on(ERROR_EVENT, (e) => void errors.push(e));
    const sent = ui.send('orders', { type: 'order.create', payload: { id: 'a', qty: 0 } });
    const error = await rejects(sent.return());
    isHappenError(error, 'validation', 'INVALID_PAYLOAD');
    await happen.settled();
    equal(ran, false);
    equal(errors.length, 1);
    equal(errors[0]!.payload.category, 'validation');
    equal(errors[0]!.context.causal.causationId, sent.event.id);
    deepEqual(errors[0]!.payload.details.issues[0].path, ['qty']);
  });

  test('defineEvent binds a type to its schema', async () => {
    const happen = createHappen();
    const OrderCreated = defineEvent('order.created', Order);
    const seen: number[] = [];
    happen.createNode('orders').on(OrderCreated, (e) => void seen.push(e.payload.qty));
    const ui = happen.createNode('ui');
    ui.broadcast(OrderCreated.create({ id: 'x', qty: 3 }));
    ui.broadcast({ type: 'order.created', payload: { id: 'x', qty: 'lots' } });
    await happen.settled();
    deepEqual(seen, [3]);
    equal(OrderCreated.create({ id: 'y', qty: 1 }).type, 'order.created');
  });

  test('schema transformations reach the handler', async () => {
    const happen = createHappen();
    const Trimmed = v.pipe(v.string(), v.trim(), v.toUpperCase());
    happen.createNode('n').on('shout', { schema: Trimmed }, (e) => e.payload);
    equal(await happen.createNode('ui').send('n', { type: 'shout', payload: '  hi ' }).return(), 'HI');
  });

  test('async Standard Schema validators are awaited', async () => {
    const happen = createHappen();
    const schema = v.pipeAsync(
      v.string(),
      v.checkAsync(async (s) => s !== 'taken', 'name taken'),
    );
    happen.createNode('n').on('claim', { schema }, (e) => `claimed ${e.payload}`);
    const ui = happen.createNode('ui');
    equal(await ui.send('n', { type: 'claim', payload: 'free' }).return(), 'claimed free');
    const error = await rejects(ui.send('n', { type: 'claim', payload: 'taken' }).return());
    isHappenError(error, 'validation', 'INVALID_PAYLOAD');
    ok(error.message.includes('name taken'), error.message);
  });

  test('a non-schema is rejected up front', () => {
    const node = createHappen().createNode('n');
    isHappenError(throws(() => node.on('x', { schema: {} as never }, () => {})), 'validation', 'INVALID_SCHEMA');
    isHappenError(throws(() => defineEvent('x', 'nope' as never)), 'validation', 'INVALID_SCHEMA');
  });
});
