import { createHappen, ERROR_EVENT, type HappenEvent } from '../../src/index.ts';
import { deepEqual, equal, isHappenError, ok, rejects } from './assert.ts';
import { describe, test } from './harness.ts';

describe('send and broadcast', () => {
  test('send(...).return() resolves to the handler flow result', async () => {
    const happen = createHappen();
    happen.createNode('calc').on('add', (e) => e.payload.a + e.payload.b);
    equal(await happen.createNode('ui').send('calc', { type: 'add', payload: { a: 2, b: 3 } }).return(), 5);
  });

  test('async handlers and nested sends compose into one result', async () => {
    const happen = createHappen();
    happen.createNode('db').on('query', async (e) => ({ rows: [e.payload.user] }));
    happen.createNode('agent').on('report', (e, ctx) => ctx.send('db', { type: 'query', payload: { user: e.payload.user } }));
    const result = await happen.createNode('ui').send('agent', { type: 'report', payload: { user: 'sarah' } }).return();
    deepEqual(result, { rows: ['sarah'] });
  });

  test('send reaches only its target', async () => {
    const happen = createHappen();
    const seen: string[] = [];
    happen.createNode('a').on('ping', () => void seen.push('a'));
    happen.createNode('b').on('ping', () => void seen.push('b'));
    happen.createNode('c').send('b', { type: 'ping' });
    await happen.settled();
    deepEqual(seen, ['b']);
  });

  test('broadcast reaches every subscribed node, in emit order', async () => {
    const happen = createHappen();
    const seen: string[] = [];
    for (const id of ['a', 'b', 'c']) happen.createNode(id).on('tick', (e) => void seen.push(`${id}${e.payload}`));
    const src = happen.createNode('src');
    src.broadcast({ type: 'tick', payload: 1 });
    src.broadcast({ type: 'tick', payload: 2 });
    await happen.settled();
    deepEqual(seen, ['a1', 'b1', 'c1', 'a2', 'b2', 'c2']);
  });

  test('delivery is asynchronous: emit returns before handlers run', async () => {
    const happen = createHappen();
    let ran = false;
    happen.createNode('a').on('t', () => void (ran = true));
    happen.createNode('b').broadcast({ type: 't' });
    equal(ran, false);
    await happen.settled();
    equal(ran, true);
  });

  test('.return() rejects with a timeout error', async () => {
    const happen = createHappen();
    happen.createNode('slow').on('wait', () => new Promise(() => {}));
    const error = await rejects(happen.createNode('ui').send('slow', { type: 'wait' }).return({ timeout: 20 }));
    isHappenError(error, 'timeout', 'TIMEOUT');
  });

  test('the system timeout is the default', async () => {
    const happen = createHappen({ timeout: 15 });
    happen.createNode('slow').on('wait', () => new Promise(() => {}));
    isHappenError(await rejects(happen.createNode('ui').send('slow', { type: 'wait' }).return()), 'timeout', 'TIMEOUT');
  });

  test('sending to a missing node rejects with NO_SUCH_NODE and emits an error event', async () => {
    const happen = createHappen();
    const ui = happen.createNode('ui');
    const errors: HappenEvent[] = [];
    ui.on(ERROR_EVENT, (e) => void errors.push(e));
    const sent = ui.send('ghost', { type: 'boo' });
    isHappenError(await rejects(sent.return()), 'runtime', 'NO_SUCH_NODE');
    await happen.settled();
    equal(errors.length, 1);
    equal(errors[0]!.payload.code, 'NO_SUCH_NODE');
    equal(errors[0]!.context.causal.causationId, sent.event.id);
  });

  test('sending a type the target does not handle rejects with NO_HANDLER', async () => {
    const happen = createHappen();
    happen.createNode('db').on('query', () => 1);
    isHappenError(await rejects(happen.createNode('ui').send('db', { type: 'drop' }).return()), 'runtime', 'NO_HANDLER');
  });

  test('.return() after the flow finished still gets the result', async () => {
    const happen = createHappen();
    happen.createNode('db').on('q', () => 42);
    const sent = happen.createNode('ui').send('db', { type: 'q' });
    await happen.settled();
    equal(await sent.return(), 42);
  });

  test('with several handlers on the target, the first defined result wins', async () => {
    const happen = createHappen();
    const db = happen.createNode('db');
    db.on('**', () => undefined);
    db.on('q', async () => 'second');
    db.on('q', () => 'third');
    equal(await happen.createNode('ui').send('db', { type: 'q' }).return(), 'second');
  });

  test('unsubscribe stops delivery and is idempotent', async () => {
    const happen = createHappen();
    let count = 0;
    const off = happen.createNode('a').on('t', () => void count++);
    const src = happen.createNode('src');
    src.broadcast({ type: 't' });
    await happen.settled();
    off();
    off();
    src.broadcast({ type: 't' });
    await happen.settled();
    equal(count, 1);
  });

  test('a reply is an event in the causal web', async () => {
    const happen = createHappen();
    happen.createNode('db').on('q', () => 1);
    const sent = happen.createNode('ui').send('db', { type: 'q' });
    await sent.return();
    const reply = happen.events().find((e) => e.type === 'happen.reply');
    ok(reply, 'reply recorded');
    equal(reply.context.causal.causationId, sent.event.id);
    equal(reply.context.causal.sender, 'db');
    equal(reply.context.target, 'ui');
    deepEqual(reply.payload, { ok: true, value: 1 });
  });
});
