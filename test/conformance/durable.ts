import { createHappen, type HappenEvent } from '../../src/index.ts';
import { delivery, mesh, retryLater, terminate, type Mesh } from '../../src/mesh/index.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { memoryBus, type MemoryBus } from '../../src/transports/memory.ts';
import { decodeFrame } from '../../src/transports/codec.ts';
import { forEachFrame } from '../../src/transports/batch.ts';
import type { Transport } from '../../src/transports/transport.ts';
import { gated } from './gated.ts';
import { deepEqual, equal, ok, sleep } from './assert.ts';
import { describe, test } from './harness.ts';

const FAST = { ackTimeoutMs: 150, retry: { initialMs: 20, maxMs: 100 }, maxAttempts: 4 };

/** A bus transport that can be cut and restored, like a network cable. */
const cable = (bus: MemoryBus) => gated(bus.transport());

async function until(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function scenario(run: (ctx: { bus: MemoryBus; join: (id: string, storage: Storage, transport?: Transport, extra?: object) => { happen: ReturnType<typeof createHappen>; mesh: Mesh } }) => Promise<void>) {
  const bus = memoryBus();
  const meshes: Mesh[] = [];
  const join = (id: string, storage: Storage, transport: Transport = bus.transport(), extra = {}) => {
    const m = mesh({ transports: [transport], heartbeatMs: 30, durable: { storage, ...FAST, ...extra } });
    meshes.push(m);
    return { happen: createHappen({ id, extensions: [m] }), mesh: m };
  };
  try {
    await run({ bus, join });
  } finally {
    await Promise.all(meshes.map((m) => m.close()));
    await sleep(1);
  }
}

describe('durable delivery', () => {
  test('emits while offline are stored before they resolve, survive a sender restart, and arrive in order, once', () =>
    scenario(async ({ bus, join }) => {
      const got: number[] = [];
      const receiver = join('sys-b', memoryStorage());
      receiver.happen.createNode('sink').on('n', (e) => void got.push(e.payload));
      const senderStore = memoryStorage();
      const wire = cable(bus);
      const sender = join('sys-a', senderStore, wire.transport);
      await sender.mesh.waitForNode('sink', { timeout: 2_000 });
      const src = sender.happen.createNode('src');
      await src.emit({ type: 'n', payload: 0 });
      await until(() => got.length === 1 && sender.mesh.queue().depth === 0, 'the online event and its ack');
      wire.cut();
      for (let i = 1; i <= 100; i++) await src.emit({ type: 'n', payload: i }); // each resolves once stored
      equal(sender.mesh.queue().depth, 100, 'everything waits in the outbox');
      ok(sender.mesh.queue().oldestAgeMs >= 0);
      await sleep(50);
      equal(got.length, 1, 'nothing crossed the cut cable');
      // The sender "reloads": a new system on the same storage, online again.
      await sender.mesh.close();
      const again = join('sys-a', senderStore);
      await until(() => got.length === 101, 'the queued events after the restart');
      deepEqual(got, Array.from({ length: 101 }, (_, i) => i));
      await until(() => again.mesh.queue().depth === 0, 'the outbox to drain');
    }));

  test('mesh.ready waits for the outbox a previous run left: queue() tells what still waits', () =>
    scenario(async ({ bus, join }) => {
      const store = memoryStorage();
      const wire = cable(bus);
      wire.cut();
      const sender = join('sys-a', store, wire.transport);
      const src = sender.happen.createNode('src');
      for (let i = 0; i < 3; i++) await src.emit({ type: 'n', payload: i });
      await sender.mesh.close();
      const offline = cable(bus);
      offline.cut();
      // Storage slower than the transport (as IndexedDB is next to a BroadcastChannel).
      const slow = new Proxy(store, {
        get: (target, key) => (key === 'list' ? async (...args: Parameters<Storage['list']>) => (await sleep(30), target.list(...args)) : Reflect.get(target, key, target)),
      });
      const again = join('sys-a', slow, offline.transport);
      await again.mesh.ready;
      deepEqual({ depth: again.mesh.queue().depth }, { depth: 3 }, 'the queue once ready');
    }));

  test('the same cable mended: queued sends flush in order, and their replies come back', () =>
    scenario(async ({ bus, join }) => {
      const receiver = join('sys-b', memoryStorage());
      receiver.happen.createNode('calc').on('double', (e) => e.payload * 2);
      const wire = cable(bus);
      const sender = join('sys-a', memoryStorage(), wire.transport);
      await sender.mesh.waitForNode('calc', { timeout: 2_000 });
      const ui = sender.happen.createNode('ui');
      wire.cut();
      const answers = [1, 2, 3].map((n) => ui.send('calc', { type: 'double', payload: n }).return({ timeout: 5_000 }));
      await sleep(30);
      wire.mend();
      deepEqual(await Promise.all(answers), [2, 4, 6]);
    }));

  test('a handler that always fails: exactly one dead letter after maxAttempts; redrive after the fix delivers it once', () =>
    scenario(async ({ join }) => {
      let fixed = false;
      const handled: string[] = [];
      const receiver = join('sys-b', memoryStorage());
      receiver.happen.createNode('ledger').on('post', (e) => {
        if (!fixed) throw new Error('ledger offline');
        handled.push(e.id);
      });
      const sender = join('sys-a', memoryStorage());
      const dead: HappenEvent[] = [];
      sender.happen.createNode('watch').on('mesh.dead-letter', (e) => void dead.push(e));
      await sender.mesh.waitForNode('ledger', { timeout: 2_000 });
      const sent = sender.happen.createNode('src').send('ledger', { type: 'post', payload: { amount: 5 } });
      await until(() => dead.length === 1, 'the dead letter');
      await sleep(100);
      equal(dead.length, 1, 'exactly one dead letter');
      const letters = await sender.mesh.deadLetters.list();
      equal(letters.length, 1);
      equal(letters[0]!.event.id, sent.event.id);
      equal(letters[0]!.attempts, FAST.maxAttempts);
      equal(letters[0]!.system, 'sys-b');
      equal(letters[0]!.lastError?.message, 'ledger offline');
      deepEqual(letters[0]!.event.context, sent.event.context, 'the causal context is kept');
      fixed = true;
      equal(await sender.mesh.deadLetters.redrive(letters[0]!.key), true);
      equal(await sender.mesh.deadLetters.redrive(letters[0]!.key), false, 'a second redrive changes nothing');
      await until(() => handled.length === 1, 'the redriven event');
      await sleep(100);
      deepEqual(handled, [sent.event.id]);
      deepEqual(await sender.mesh.deadLetters.list(), []);
    }));

  test('order holds through retries: a nacked event holds back the ones after it; none is handled twice', () =>
    scenario(async ({ join }) => {
      const got: number[] = [];
      let failures = 2;
      const receiver = join('sys-b', memoryStorage());
      receiver.happen.createNode('sink').on('n', (e) => {
        if (e.payload === 3 && failures-- > 0) throw retryLater(10);
        got.push(e.payload);
      });
      const sender = join('sys-a', memoryStorage());
      await sender.mesh.waitForNode('sink', { timeout: 2_000 });
      const src = sender.happen.createNode('src');
      for (let i = 1; i <= 6; i++) src.broadcast({ type: 'n', payload: i });
      await until(() => got.length === 6, 'all six');
      await sleep(50);
      deepEqual(got, [1, 2, 3, 4, 5, 6]);
    }));

  test('terminate() dead-letters at once; a lost ack is answered again without handling twice', () =>
    scenario(async ({ bus, join }) => {
      const receiver = join('sys-b', memoryStorage());
      const wire = cable(bus);
      let runs = 0;
      receiver.happen.createNode('sink').on('bad', () => {
        throw terminate('poison message');
      });
      receiver.happen.createNode('count').on('once', () => {
        runs++;
        wire.cut(); // the ack this handling earns is lost on its way back
      });
      const sender = join('sys-a', memoryStorage(), wire.transport);
      const dead: HappenEvent[] = [];
      sender.happen.createNode('watch').on('mesh.dead-letter', (e) => void dead.push(e));
      await sender.mesh.waitForNode('sink', { timeout: 2_000 });
      const src = sender.happen.createNode('src');
      src.send('sink', { type: 'bad' });
      await until(() => dead.length === 1, 'the poison message to be given up');
      const letters = await sender.mesh.deadLetters.list();
      equal(letters.length, 1);
      equal(letters[0]!.attempts, 1, 'terminated on its first delivery');
      equal(letters[0]!.lastError?.code, 'DELIVERY_TERMINATED');
      await src.emit({ type: 'once' });
      await until(() => runs === 1, 'the handler to run');
      await sleep(20);
      wire.mend(); // the sender resends after the ack deadline
      await until(() => sender.mesh.queue().depth === 0, 'the resend to be acked');
      equal(runs, 1, 'the receiver acked the resend without handling it again');
    }));

  test('a terminated event, once redriven, is handled again (a given-up id is not remembered as handled)', () =>
    scenario(async ({ join }) => {
      let poisoned = true;
      const handled: string[] = [];
      const receiver = join('sys-b', memoryStorage());
      receiver.happen.createNode('sink').on('job', (e) => {
        if (poisoned) throw terminate('cannot parse job');
        handled.push(e.id);
      });
      const sender = join('sys-a', memoryStorage());
      await sender.mesh.waitForNode('sink', { timeout: 2_000 });
      const dead: HappenEvent[] = [];
      sender.happen.createNode('watch').on('mesh.dead-letter', (e) => void dead.push(e));
      const sent = sender.happen.createNode('src').send('sink', { type: 'job' });
      await until(() => dead.length === 1, 'the terminated event to be dead-lettered');
      const [letter] = await sender.mesh.deadLetters.list();
      equal(letter!.lastError?.code, 'DELIVERY_TERMINATED');
      poisoned = false;
      equal(await sender.mesh.deadLetters.redrive(letter!.key), true);
      await until(() => handled.length === 1, 'the redriven event to be handled');
      await until(() => sender.mesh.queue().depth === 0, 'the redrive to be acked');
      await sleep(50);
      deepEqual(handled, [sent.event.id], 'handled once, after the redrive');
      deepEqual(await sender.mesh.deadLetters.list(), []);
    }));

  test('a long handler is not redelivered: it reports progress past the ack deadline', () =>
    scenario(async ({ join }) => {
      let runs = 0;
      const receiver = join('sys-b', memoryStorage());
      receiver.happen.createNode('slow').on('work', async () => {
        runs++;
        await sleep(FAST.ackTimeoutMs * 3);
      });
      const sender = join('sys-a', memoryStorage());
      await sender.mesh.waitForNode('slow', { timeout: 2_000 });
      sender.happen.createNode('src').send('slow', { type: 'work' });
      await until(() => runs === 1, 'the handler to start');
      await until(() => sender.mesh.queue().depth === 0, 'the ack after the long handler', 3_000);
      equal(runs, 1);
    }));

  test('frames queued behind a busy receiver are not resent while it keeps acking (a window deeper than the ack timeout)', () =>
    scenario(async ({ bus, join }) => {
      let runs = 0;
      const receiver = join('sys-b', memoryStorage());
      receiver.happen.createNode('slow').on('work', async () => {
        runs++;
        await sleep(15); // 30 of them take 3× the ack timeout
      });
      const inner = bus.transport();
      let eventFrames = 0;
      // A durable mesh batches the frames of one tick: count the frames inside each message.
      const counting: Transport = { ...inner, send: (data, route) => (forEachFrame(data, (f) => void (decodeFrame(f).t === 'event' && eventFrames++)), inner.send(data, route)) };
      const sender = join('sys-a', memoryStorage(), counting);
      await sender.mesh.waitForNode('slow', { timeout: 2_000 });
      const src = sender.happen.createNode('src');
      for (let i = 0; i < 30; i++) src.broadcast({ type: 'work', payload: i });
      await until(() => runs === 30 && sender.mesh.queue().depth === 0, 'all 30 handled and acked', 5_000);
      equal(runs, 30, 'handler runs');
      equal(eventFrames, 30, 'event frames sent (none resent)');
    }));

  test('explicit controls: ack() early, nack(delay) then success, term(reason), inProgress(); none outside durable delivery', () =>
    scenario(async ({ join }) => {
      const receiver = join('sys-b', memoryStorage());
      const seen: string[] = [];
      let nacked = 0;
      let slowPartDone = false;
      receiver.happen.createNode('early').on('job', async (e) => {
        delivery(e)!.ack(); // acked before the slow part; the later outcome does not matter
        seen.push(`early:${e.payload}`);
        await sleep(FAST.ackTimeoutMs * 2);
        slowPartDone = true;
        throw new Error('ignored: already acked');
      });
      receiver.happen.createNode('flaky').on('job', (e) => {
        if (nacked++ === 0) return void delivery(e)!.nack(10);
        delivery(e)!.inProgress();
        seen.push(`flaky:${e.payload}`);
      });
      receiver.happen.createNode('poison').on('job', (e) => void delivery(e)!.term('cannot parse'));
      const sender = join('sys-a', memoryStorage());
      await sender.mesh.waitForNode('poison', { timeout: 2_000 });
      const src = sender.happen.createNode('src');
      src.send('early', { type: 'job', payload: 1 });
      src.send('flaky', { type: 'job', payload: 2 });
      src.send('poison', { type: 'job', payload: 3 });
      await until(() => seen.length === 2 && sender.mesh.queue().depth === 0, 'every job to be settled');
      deepEqual(seen.sort(), ['early:1', 'flaky:2']);
      equal(nacked, 2, 'the nacked job came back once');
      const letters = await sender.mesh.deadLetters.list();
      equal(letters.length, 1);
      equal(letters[0]!.lastError?.message, 'cannot parse');
      const local = createHappen();
      let control: unknown = 'unset';
      local.createNode('x').on('y', (e) => void (control = delivery(e)));
      local.createNode('z').broadcast({ type: 'y' });
      await local.settled();
      equal(control, undefined, 'no controls for an event that did not come by durable delivery');
      await until(() => slowPartDone, 'the slow part of the early-acked job');
    }));

  test('a receiver restart keeps its place: acked events are not handled again', () =>
    scenario(async ({ join }) => {
      const store = memoryStorage();
      const got: number[] = [];
      let receiver = join('sys-b', store);
      receiver.happen.createNode('sink').on('n', (e) => void got.push(e.payload));
      const sender = join('sys-a', memoryStorage());
      await sender.mesh.waitForNode('sink', { timeout: 2_000 });
      const src = sender.happen.createNode('src');
      for (let i = 1; i <= 5; i++) src.broadcast({ type: 'n', payload: i });
      await until(() => got.length === 5 && sender.mesh.queue().depth === 0, 'the first five');
      await receiver.mesh.close();
      receiver = join('sys-b', store);
      receiver.happen.createNode('sink').on('n', (e) => void got.push(e.payload));
      await sender.mesh.waitForNode('sink', { timeout: 2_000 });
      for (let i = 6; i <= 8; i++) src.broadcast({ type: 'n', payload: i });
      await until(() => got.length === 8, 'the next three');
      await sleep(50);
      deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8]);
    }));

  test('handled ids are stored a batch to a record, reloaded after a restart (the one-id-per-record form too), and forgotten after the dedupe window', () =>
    scenario(async ({ join }) => {
      const store = memoryStorage();
      const SEEN = 'happen/mesh/in/d/';
      // What an earlier version left: one record per id, one recent and one past the window.
      await store.put(`${SEEN}old-recent`, Date.now());
      await store.put(`${SEEN}old-expired`, Date.now() - 10_000);
      const window = { dedupeWindowMs: 800 };
      let got = 0;
      let receiver = join('sys-b', store, undefined, window);
      receiver.happen.createNode('sink').on('n', () => void got++);
      const sender = join('sys-a', memoryStorage());
      await sender.mesh.waitForNode('sink', { timeout: 2_000 });
      const src = sender.happen.createNode('src');
      const ids = new Set<string>();
      for (let i = 0; i < 60; i++) ids.add((await src.broadcast({ type: 'n', payload: i })).id);
      await until(() => got === 60 && sender.mesh.queue().depth === 0, 'all 60 handled and acked');
      const stored = async () => new Map(await store.list<number | { at: number; ids: string[] }>({ prefix: SEEN }));
      let records = await stored();
      equal(records.has(`${SEEN}old-expired`), false, 'a one-id record past the window is dropped on open');
      equal(records.get(`${SEEN}old-recent`) !== undefined, true, 'a one-id record inside the window is kept');
      const grouped = [...records.values()].filter((v): v is { at: number; ids: string[] } => typeof v === 'object');
      deepEqual(new Set(grouped.flatMap((r) => r.ids)), ids, 'every handled id is stored');
      ok(grouped.length < 60, `fewer records than ids (${grouped.length} for 60)`);
      // Restarted, the receiver loads the grouped records (the prune below finds them).
      await receiver.mesh.close();
      receiver = join('sys-b', store, undefined, window);
      receiver.happen.createNode('sink').on('n', () => void got++);
      await sender.mesh.waitForNode('sink', { timeout: 2_000 });
      // Past the window, the next handled event prunes the old records.
      await sleep(850);
      src.broadcast({ type: 'n', payload: 60 });
      await until(() => got === 61 && sender.mesh.queue().depth === 0, 'the event after the window');
      await sleep(20);
      records = await stored();
      equal(records.has(`${SEEN}old-recent`), false, 'the old one-id record is forgotten after the window');
      const left = [...records.values()].filter((v): v is { at: number; ids: string[] } => typeof v === 'object').flatMap((r) => r.ids);
      equal(left.length, 1, 'only the id handled after the window is remembered');
      equal(got, 61, 'nothing handled twice');
    }));
});
