/**
 * Workflow durability: a workflow object dropped ("crashed") at every point between steps, and in the
 * middle of one, is resumed by a new object on the same storage; sleeps and waits survive restarts.
 */
import { createHappen, type Happen, type HappenEvent } from '../../src/index.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { createWorkflow, type StepDefinition, type Workflow, type WorkflowConfig } from '../../src/workflow/index.ts';
import { deepEqual, equal, isHappenError, ok, rejects, sleep } from './assert.ts';
import { describe, test } from './harness.ts';
import { crashingStorage, historyOf, manualTime, recorder, until, waitFor } from './workflow-helpers.ts';

const STEPS = ['s0', 's1', 's2', 's3'];

/** Four steps, each one send to the ledger, which counts what it applied per step. */
function ledgerWorkflow(happen: Happen, storage: Storage, id = 'durable'): Workflow {
  const steps: StepDefinition[] = STEPS.map((step) => ({
    id: step,
    run: { send: (_input, data) => ({ target: 'ledger', event: { type: 'ledger.apply', payload: { step, seen: Object.keys(data).length } } }) },
  }));
  return createWorkflow(id, { happen, storage, steps });
}

const counts = (seen: HappenEvent[]) => {
  const out: Record<string, number> = {};
  for (const e of seen) out[e.payload.step] = (out[e.payload.step] ?? 0) + 1;
  return out;
};

describe('workflow durability', () => {
  // k = -1: right after the instance was created; otherwise right after step k was recorded started / completed.
  const points: Array<[string, number, 'started' | 'completed']> = [['created', -1, 'completed']];
  for (let k = 0; k < STEPS.length; k++) points.push([`s${k} started`, k, 'started'], [`s${k} completed`, k, 'completed']);

  test('crashed at every point between steps (after each start and each completion is recorded), a new object resumes: every step’s effect happens exactly once', async () => {
    for (const [label, k, status] of points) {
      const happen = createHappen();
      const ledger = recorder(happen, 'ledger', (e) => ({ applied: e.payload.step }));
      const stored = memoryStorage();
      let first: Workflow | undefined;
      let crashed: Promise<void> | undefined;
      const when = (r: { history: Array<{ step: string; phase: string; status: string }> }) =>
        k === -1 ? r.history.length === 0 : r.history.some((h) => h.step === STEPS[k] && h.status === status);
      first = ledgerWorkflow(happen, crashingStorage(stored, when, () => (crashed = first!.close())));
      const id = await first.start({ order: 7 }, { instanceId: `crash-${k}-${status}` });
      await waitFor(() => crashed !== undefined, `the crash at ${label}`);
      await crashed;
      const before = counts(ledger);
      const second = ledgerWorkflow(happen, stored);
      deepEqual(await second.result(id), { applied: 's3' }, `result after the crash at ${label}`);
      deepEqual(counts(ledger), { s0: 1, s1: 1, s2: 1, s3: 1 }, `effects after the crash at ${label} (before it: ${JSON.stringify(before)})`);
      const instance = await second.instance(id);
      equal(instance?.status, 'completed', label);
      const completed = instance!.history.filter((h) => h.status === 'completed').map((h) => h.step);
      deepEqual(completed, STEPS, `each step completed once (${label})`);
      if (status === 'started' && k >= 0) {
        deepEqual(instance!.history.filter((h) => h.step === STEPS[k]).map((h) => `${h.status}:${h.attempt}`), ['interrupted:1', 'completed:2'], `the step that was running at ${label} ran again`);
      }
      deepEqual(ledger.map((e) => e.payload.seen), [0, 1, 2, 3], `each step saw the earlier results (${label})`);
      await second.close();
    }
  });

  test('a crash in the middle of a step re-runs it with the same idempotency key, so a deduplicating receiver applies it once', async () => {
    const happen = createHappen();
    const storage = memoryStorage();
    const applied = new Map<string, number>();
    const deliveries: string[] = [];
    let arrived!: () => void;
    const reached = new Promise<void>((r) => (arrived = r));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    happen.createNode('bank').on('bank.pay', async (e) => {
      const key = e.context.idempotencyKey as string;
      deliveries.push(key);
      if (!applied.has(key)) applied.set(key, e.payload.amount); // the side effect, deduplicated
      if (deliveries.length === 1) {
        arrived();
        await held; // the first delivery is still being handled when the workflow "crashes"
      }
      return { paid: applied.get(key) };
    });
    const config = (): WorkflowConfig => ({
      happen,
      storage,
      steps: [
        { id: 'quote', run: () => 25 },
        { id: 'pay', run: { send: (_i, data) => ({ target: 'bank', event: { type: 'bank.pay', payload: { amount: data.quote } } }) } },
        { id: 'receipt', run: (ctx) => ({ receipt: ctx.data.pay }) },
      ],
    });
    const first = createWorkflow('payer', config());
    const id = await first.start(undefined, { instanceId: 'p1' });
    await reached;
    await first.close();
    const second = createWorkflow('payer', config());
    deepEqual(await second.result(id), { receipt: { paid: 25 } });
    deepEqual(deliveries, ['p1:pay', 'p1:pay'], 'delivered twice (at least once), with one key');
    equal(applied.size, 1, 'applied once');
    deepEqual(historyOf(await second.instance(id)), ['quote:run:completed:1', 'pay:run:interrupted:1', 'pay:run:completed:2', 'receipt:run:completed:1']);
    release();
    await happen.settled();
    await second.close();
  });

  test('sleep persists its wake time: after a restart it sleeps only the remainder (manual clock)', async () => {
    const happen = createHappen();
    const storage = memoryStorage();
    const time = manualTime();
    const ledger = recorder(happen, 'ledger');
    const config = (): WorkflowConfig => ({
      happen,
      storage,
      now: time.now,
      scheduler: time.scheduler,
      steps: [
        { id: 'before', run: { send: () => ({ target: 'ledger', event: { type: 'ledger.before' } }) } },
        { id: 'nap', sleep: (data) => (data.before ? 1_000 : 5) },
        { id: 'after', run: { send: () => ({ target: 'ledger', event: { type: 'ledger.after' } }) } },
      ],
    });
    const first = createWorkflow('napper', config());
    const startedAt = time.now();
    const id = await first.start();
    const asleep = await until(first, id, (i) => i.status === 'sleeping', 'the sleep');
    equal(asleep.wakeAt, startedAt + 1_000, 'the wake time is stored');
    equal(asleep.currentStep, 'nap');
    equal(time.requested(), startedAt + 1_000, 'the scheduler was asked for it');
    await first.close();
    equal(time.requested(), undefined, 'close() withdraws the request');
    time.advance(600);
    const second = createWorkflow('napper', config());
    await second.ready;
    equal(time.requested(), startedAt + 1_000, 'the new object asks for the same wake time: 400 ms remain');
    await second.wake();
    equal((await second.instance(id))?.status, 'sleeping', 'an early wake changes nothing');
    time.advance(400);
    await second.wake();
    equal((await second.instance(id))?.status, 'completed');
    deepEqual(ledger.map((e) => e.type), ['ledger.before', 'ledger.after'], 'each step once');
    await second.close();
  });

  test('sleep across a restart with real timers: the new object wakes at the stored time, not a full sleep later', async () => {
    const happen = createHappen();
    const storage = memoryStorage();
    const config = (): WorkflowConfig => ({ happen, storage, steps: [{ id: 'nap', sleep: 300 }, { id: 'up', run: () => Date.now() }] });
    const first = createWorkflow('timer-napper', config());
    const started = Date.now();
    const id = await first.start();
    await until(first, id, (i) => i.status === 'sleeping');
    await sleep(100);
    await first.close();
    const restarted = Date.now();
    const second = createWorkflow('timer-napper', config());
    const woke = (await second.result(id)) as number;
    ok(woke - started >= 295, `slept the whole 300 ms in all (${woke - started} ms)`);
    ok(woke - restarted < 285, `only the remainder after the restart (${woke - restarted} ms)`);
    await second.close();
  });

  test('waitForEvent re-subscribes after a restart: a non-matching event is ignored, the matching one is the step’s result', async () => {
    const happen = createHappen();
    const storage = memoryStorage();
    const bank = happen.createNode('bank');
    const config = (): WorkflowConfig => ({
      happen,
      storage,
      steps: [
        { id: 'order', run: (ctx) => ({ orderId: ctx.input.orderId }) },
        { id: 'paid', waitForEvent: { type: 'payment.received', match: (e, data) => e.payload.orderId === (data.order as { orderId: string }).orderId } },
        { id: 'ship', run: (ctx) => ({ shipped: (ctx.data.paid as HappenEvent).payload.orderId }) },
      ],
    });
    const first = createWorkflow('shop', config());
    const id = await first.start({ orderId: 'o-1' });
    const waiting = await until(first, id, (i) => i.status === 'waiting', 'the wait');
    equal(waiting.currentStep, 'paid');
    await first.close();
    const second = createWorkflow('shop', config());
    await second.ready;
    bank.broadcast({ type: 'payment.received', payload: { orderId: 'o-2' } });
    await happen.settled();
    equal((await second.instance(id))?.status, 'waiting', 'another order’s payment does not count');
    const payment = bank.broadcast({ type: 'payment.received', payload: { orderId: 'o-1', amount: 5 } });
    deepEqual(await second.result(id), { shipped: 'o-1' });
    const paid = (await second.instance(id))!.data.paid as HappenEvent;
    equal(paid.id, payment.id, 'the event itself is the result');
    deepEqual(paid.payload, { orderId: 'o-1', amount: 5 });
    // Sent straight to the workflow's node counts too.
    const other = await second.start({ orderId: 'o-3' });
    await until(second, other, (i) => i.status === 'waiting');
    await bank.send('shop', { type: 'payment.received', payload: { orderId: 'o-3' } }).return();
    equal((await second.instance(other))?.data.paid !== undefined, true, 'recorded by the time the send is handled');
    deepEqual(await second.result(other), { shipped: 'o-3' });
    await second.close();
  });

  test('a wait’s deadline is persisted: past it after a restart the step fails with TIMEOUT, or continues with onTimeout "continue"', async () => {
    const happen = createHappen();
    const storage = memoryStorage();
    const time = manualTime();
    const config = (onTimeout: 'fail' | 'continue'): WorkflowConfig => ({
      happen,
      storage,
      now: time.now,
      scheduler: time.scheduler,
      steps: [
        { id: 'ask', run: () => 'asked' },
        { id: 'answer', waitForEvent: { type: 'approval.given', timeoutMs: 1_000, onTimeout }, next: (event) => (event === undefined ? 'escalate' : 'end') },
        { id: 'escalate', run: () => 'escalated' },
      ],
    });
    for (const onTimeout of ['fail', 'continue'] as const) {
      const name = `approver-${onTimeout}`;
      const first = createWorkflow(name, config(onTimeout));
      const id = await first.start();
      const waiting = await until(first, id, (i) => i.status === 'waiting');
      equal(waiting.wakeAt, time.now() + 1_000, 'the deadline is stored');
      await first.close();
      time.advance(1_000);
      const second = createWorkflow(name, config(onTimeout));
      await second.ready;
      await second.wake();
      if (onTimeout === 'fail') {
        const error = await rejects(second.result(id));
        isHappenError(error, 'runtime', 'WORKFLOW_FAILED');
        equal(error.details.error.code, 'TIMEOUT');
        equal((await second.instance(id))?.failedStep, 'answer');
      } else {
        equal(await second.result(id), 'escalated');
      }
      await second.close();
    }
  });
});
