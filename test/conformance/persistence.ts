/**
 * Persistence on top of any `Storage`: persisted node state, the event log, replay, event-sourced
 * nodes and node memory. Registered for memory storage in every runtime, and for each runtime's
 * own adapter by its runner. `open` must return an empty, isolated storage on every call.
 */
import { createHappen, ERROR_EVENT, type HappenEvent } from '../../src/index.ts';
import { createEventSourcedNode, EventLog, memoryStorage, nodeLog, nodeMemory, replay, sharedMemory, type Storage } from '../../src/storage/index.ts';
import { deepEqual, equal, isHappenError, ok, rejects } from './assert.ts';
import { describe, test } from './harness.ts';
import { withStorageFrom } from './storage-adapter.ts';

/** Registers the persistence suite for one adapter under `persistence (name)`. */
export function persistenceSuite(name: string, open: () => Promise<Storage>): void {
  const withStorage = withStorageFrom(open);

  describe(`persistence (${name})`, () => {
    test('a node with storage gets its state back in a new system', withStorage(async (storage) => {
      const first = createHappen();
      const counter = first.createNode('counter', { state: { count: 0 }, storage });
      await counter.ready;
      counter.on('count.add', (e) => void counter.state.set((s) => ({ count: s.count + e.payload })));
      const source = first.createNode('source');
      for (let i = 1; i <= 5; i++) source.broadcast({ type: 'count.add', payload: i });
      await first.settled();
      equal(counter.state.get().count, 15);

      const second = createHappen();
      const again = second.createNode('counter', { state: { count: 0 }, storage });
      await again.ready;
      deepEqual(again.state.get(), { count: 15 });
    }));

    test('events that arrive before the state is restored wait for it', withStorage(async (storage) => {
      await storage.put('node/late/state', { state: { seen: ['restored'] } });
      const happen = createHappen();
      const late = happen.createNode('late', { state: { seen: [] as string[] }, storage });
      late.on('note', (e) => void late.state.set((s) => ({ seen: [...s.seen, e.payload] })));
      happen.createNode('source').broadcast({ type: 'note', payload: 'first' });
      await happen.settled();
      deepEqual(late.state.get().seen, ['restored', 'first']);
    }));

    test('persistEvents: matching events are in the log, with causal context, before delivery', withStorage(async (storage) => {
      const happen = createHappen();
      const orders = happen.createNode('orders', { storage, persistEvents: ['order.*'] });
      const log = nodeLog(storage, 'orders');
      const seenInLog: number[] = [];
      happen.createNode('audit').on('order.*', async (e) => {
        const logged = await log.read({ correlationId: e.context.causal.correlationId });
        seenInLog.push(logged.length);
      });
      const created = await orders.emit({ type: 'order.created', payload: { id: 1 } });
      orders.broadcast({ type: 'cart.viewed' });
      orders.broadcast({ type: 'order.paid', payload: { id: 1 }, correlationId: created.context.causal.correlationId });
      await happen.settled();
      const entries = await log.read();
      deepEqual(entries.map((e) => [e.sequence, e.event.type]), [[1, 'order.created'], [2, 'order.paid']]);
      deepEqual(entries[0]!.event.context.causal, created.context.causal);
      equal(entries[1]!.event.context.causal.correlationId, created.id);
      deepEqual(seenInLog, [1, 2], 'each delivery happened after its own append');
      equal(await log.head(), 2);
    }));

    if (name === 'memory') test('a failed write refuses the event: emit rejects, nobody receives it, an error event says why', async () => {
      const storage = memoryStorage({ maxBytes: 2_000 });
      const happen = createHappen();
      const node = happen.createNode('writer', { storage, persistEvents: ['data.*'] });
      const received: string[] = [];
      const errors: string[] = [];
      happen.createNode('reader').on('data.*', (e) => void received.push(e.payload.tag));
      node.on(ERROR_EVENT, (e) => void errors.push(e.payload.code)); // error events go back to the sender
      await node.emit({ type: 'data.small', payload: { tag: 'small' } });
      isHappenError(await rejects(node.emit({ type: 'data.big', payload: { tag: 'big', blob: 'x'.repeat(3_000) } })), 'runtime', 'STORAGE_FULL');
      isHappenError(await rejects(node.emit({ type: 'data.huge', payload: { tag: 'huge', blob: 'x'.repeat(70_000) } })), 'validation', 'EVENT_TOO_LARGE');
      await node.emit({ type: 'data.after', payload: { tag: 'after' } });
      await happen.settled();
      deepEqual(received, ['small', 'after']);
      deepEqual(errors, ['STORAGE_FULL', 'EVENT_TOO_LARGE']);
      deepEqual((await nodeLog(storage, 'writer').read()).map((e) => e.event.type), ['data.small', 'data.after']);
    });

    test('a log is read by sequence, time range, type pattern, correlation id and limit', withStorage(async (storage) => {
      const log = new EventLog(storage, 'reads');
      const events = [
        event('a.one', 1_000, 'x'),
        event('b.two', 2_000, 'y'),
        event('a.three', 3_000, 'x'),
        event('a.four', 4_000, 'y'),
      ];
      const sequences = await Promise.all(events.map((e) => log.append(e)));
      deepEqual(sequences, [1, 2, 3, 4]);
      const types = async (query: Parameters<EventLog['read']>[0]) => (await log.read(query)).map((e) => e.event.type);
      deepEqual(await types({ from: 2, to: 3 }), ['b.two', 'a.three']);
      deepEqual(await types({ since: 2_000, until: 3_500 }), ['b.two', 'a.three']);
      deepEqual(await types({ type: 'a.*' }), ['a.one', 'a.three', 'a.four']);
      deepEqual(await types({ correlationId: 'y' }), ['b.two', 'a.four']);
      deepEqual(await types({ type: 'a.*', limit: 2 }), ['a.one', 'a.three']);
      deepEqual(await types({ correlationId: 'x', from: 2 }), ['a.three']);
    }));

    test('a burst of appends gets gap-free sequences in call order', withStorage(async (storage) => {
      const log = new EventLog(storage, 'burst');
      const sequences = await Promise.all(Array.from({ length: 1_000 }, (_, i) => log.append(event('tick', i, 'c'))));
      deepEqual(sequences, Array.from({ length: 1_000 }, (_, i) => i + 1));
      const read = await log.read();
      equal(read.length, 1_000);
      ok(read.every((e, i) => e.sequence === i + 1 && e.event.context.causal.timestamp === i), 'entries in order');
    }));

    test('two writers expecting the same sequence: exactly one wins, the other gets CONFLICT', withStorage(async (storage) => {
      const a = new EventLog(storage, 'shared');
      const b = new EventLog(storage, 'shared');
      await a.append(event('first', 1, 'c'));
      const outcomes = await Promise.allSettled([a.append(event('from.a', 2, 'c'), { expectedSequence: 1 }), b.append(event('from.b', 2, 'c'), { expectedSequence: 1 })]);
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      equal(lost.length, 1);
      isHappenError(lost[0]!.reason, 'runtime', 'CONFLICT');
      equal(await a.head(), 2);
      // An append without an expectation moves past the other writer's entries instead of failing.
      equal(await b.append(event('later', 3, 'c')), 3);
      equal(await a.append(event('later.a', 4, 'c')), 4);
    }));

    test('retention drops the oldest events by count and by age', withStorage(async (storage) => {
      const byCount = new EventLog(storage, 'count', { retention: { maxEvents: 3 } });
      for (let i = 1; i <= 6; i++) await byCount.append(event('e', i, 'c'));
      deepEqual((await byCount.read()).map((e) => e.sequence), [4, 5, 6]);
      equal(await byCount.first(), 4);
      deepEqual((await byCount.read({ correlationId: 'c' })).map((e) => e.sequence), [4, 5, 6]);
      let now = 10_000;
      const byAge = new EventLog(storage, 'age', { retention: { maxAgeMs: 1_000 }, now: () => now });
      for (const t of [8_000, 8_500, 9_500]) await byAge.append(event('e', t, 'c'));
      deepEqual((await byAge.read()).map((e) => e.event.context.causal.timestamp), [9_500]);
      now = 20_000;
      await byAge.append(event('e', 20_000, 'c'));
      deepEqual((await byAge.read()).map((e) => e.sequence), [4]);
    }));

    test('replay rebuilds a node from its log without repeating its effects', withStorage(async (storage) => {
      const happen = createHappen();
      const shop = happen.createNode('shop', { state: { total: 0 }, storage, persistEvents: ['sale.*'] });
      await shop.ready;
      for (const amount of [5, 7, 11]) await shop.emit({ type: 'sale.made', payload: { amount } });

      const replica = createHappen();
      const rebuilt = replica.createNode('ledger', { state: { total: 0, replaying: [] as boolean[] } });
      const effects: string[] = [];
      replica.createNode('mailer').on('mail.*', (e) => void effects.push(e.type));
      rebuilt.on('sale.made', (e, ctx) => {
        rebuilt.state.set((s) => ({ total: s.total + e.payload.amount, replaying: [...s.replaying, ctx.replaying === true] }));
        ctx.broadcast({ type: 'mail.receipt' });
      });
      const handled = await replay(nodeLog(storage, 'shop'), rebuilt);
      await replica.settled();
      equal(handled, 3);
      deepEqual(rebuilt.state.get(), { total: 23, replaying: [true, true, true] });
      deepEqual(effects, [], 'no receipts were sent again');
      replica.createNode('live').broadcast({ type: 'sale.made', payload: { amount: 1 } });
      await replica.settled();
      deepEqual(effects, ['mail.receipt'], 'after the replay the node emits again');
    }));

    test('an event-sourced node folds, snapshots, restarts from its snapshot and travels in time', withStorage(async (storage) => {
      const reducers = {
        'account.deposited': (s: { balance: number }, e: HappenEvent) => ({ balance: s.balance + e.payload }),
        'account.withdrawn': (s: { balance: number }, e: HappenEvent) => ({ balance: s.balance - e.payload }),
      };
      const happen = createHappen();
      const account = createEventSourcedNode('account-1', { reducers, storage, initialState: { balance: 0 }, snapshotEvery: 3, happen });
      await account.ready;
      const live: number[] = [0];
      for (const [type, amount] of [['account.deposited', 10], ['account.deposited', 5], ['account.withdrawn', 3], ['account.deposited', 100], ['account.withdrawn', 50]] as const) {
        await account.append({ type, payload: amount });
        live.push(account.state.get().balance);
      }
      account.broadcast({ type: 'account.note' }); // not a reducer type: not in the log
      await happen.settled();
      equal(account.sequence, 5);
      for (let n = 0; n <= 5; n++) equal((await account.getStateAt(n)).balance, live[n], `state at ${n}`);
      const third = (await account.log.read({ from: 3, to: 3 }))[0]!.event.context.causal.timestamp;
      ok((await account.getStateAt({ timestamp: third })).balance >= live[3]!);
      isHappenError(await rejects(account.getStateAt(6)), 'validation', 'OUT_OF_RANGE');
      ok((await storage.list({ prefix: 'es/account-1/snap/' })).length >= 1, 'a snapshot was written');

      const restarted = createEventSourcedNode('account-1', { reducers, storage, initialState: { balance: 0 }, snapshotEvery: 3, happen: createHappen() });
      await restarted.ready;
      deepEqual(restarted.state.get(), { balance: 62 });
      equal(restarted.sequence, 5);
    }));

    test('event-sourced appends with a stale expected sequence fail with CONFLICT and change nothing', withStorage(async (storage) => {
      const reducers = { 'n.add': (s: number, e: HappenEvent) => s + e.payload };
      const happen = createHappen();
      const node = createEventSourcedNode('n', { reducers, storage, initialState: 0, happen });
      await node.append({ type: 'n.add', payload: 1 }, { expectedSequence: 0 });
      const outcomes = await Promise.allSettled([node.append({ type: 'n.add', payload: 10 }, { expectedSequence: 1 }), node.append({ type: 'n.add', payload: 100 }, { expectedSequence: 1 })]);
      equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      isHappenError((outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason, 'runtime', 'CONFLICT');
      await happen.settled();
      equal(node.state.get(), 11);
      equal(await node.log.head(), 2);
    }));

    test('node memory forgets values after their TTL', withStorage(async (storage) => {
      let now = 1_000;
      const memory = nodeMemory(storage, 'agent', { now: () => now });
      await memory.set('goal', 'write the report');
      await memory.set('scratch', { step: 1 }, { ttl: 500 });
      deepEqual(await memory.get('scratch'), { step: 1 });
      now = 1_499;
      deepEqual((await memory.entries()).map(([k]) => k), ['goal', 'scratch']);
      now = 1_500;
      equal(await memory.get('scratch'), undefined);
      deepEqual(await memory.entries(), [['goal', 'write the report']]);
      equal(await memory.sweep(), 1);
      equal(await memory.delete('goal'), true);
      equal(await nodeMemory(storage, 'other').get('goal'), undefined, 'memories of two nodes are separate');
      isHappenError(await rejects(memory.set('bad', 1, { ttl: -5 })), 'validation', 'INVALID_VALUE');
    }));

    test('shared memory: a named scope whose ACL decides who reads and writes', withStorage(async (storage) => {
      const scope = await sharedMemory(storage, 'research', { owner: 'lead', read: ['reviewer'], write: ['writer'] });
      await scope.as('lead').set('topic', 'causality');
      await scope.as('writer').set('draft', 'v1', { ttl: 60_000 });
      equal(await scope.as('reviewer').get('draft'), 'v1');
      isHappenError(await rejects(scope.as('reviewer').set('draft', 'v2')), 'security', 'ACL_DENIED');
      isHappenError(await rejects(scope.as('stranger').get('topic')), 'security', 'ACL_DENIED');
      isHappenError(await rejects(scope.setAcl('writer', { owner: 'writer' })), 'security', 'ACL_DENIED');
      const reopened = await sharedMemory(storage, 'research', { owner: 'intruder', write: ['*'] });
      isHappenError(await rejects(reopened.as('intruder').set('topic', 'x')), 'security', 'ACL_DENIED');
      await scope.setAcl('lead', { owner: 'lead', read: ['*'] });
      equal(await reopened.as('stranger').get('topic'), 'causality');
      isHappenError(await rejects(sharedMemory(storage, 'missing')), 'runtime', 'NO_SUCH_SCOPE');
    }));

    if (name === 'memory') test('when the storage cannot be read the node still works and says why', async () => {
      const storage = memoryStorage();
      await storage.close();
      const happen = createHappen();
      const errors: string[] = [];
      happen.createNode('watch').on(ERROR_EVENT, (e) => void errors.push(e.payload.code));
      const node = happen.createNode('n', { state: { hits: 0 }, storage });
      node.on('hit', () => void node.state.set((s) => ({ hits: s.hits + 1 })));
      isHappenError(await rejects(node.ready), 'runtime', 'STORAGE_UNAVAILABLE');
      happen.createNode('src').broadcast({ type: 'hit' });
      await happen.settled();
      equal(node.state.get().hits, 1);
      ok(errors.includes('STORAGE_UNAVAILABLE'), `errors: ${errors.join(', ')}`);
    });
  });
}

// A complete event with a fixed timestamp and correlation id, as a log stores it.
function event(type: string, timestamp: number, correlationId: string): HappenEvent {
  const id = `${type}-${timestamp}`;
  return { id, type, payload: null, context: { causal: { id, sender: 'test', correlationId, path: ['test'], timestamp } } };
}
