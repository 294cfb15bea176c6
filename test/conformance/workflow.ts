/**
 * Durable workflows in every runtime (memory storage, short delays or a manual clock): steps as sends
 * to real nodes, conditions, retries, the causal tree, queries over the mesh, bad definitions and
 * bad input. Durability (crashes, sleeps and waits across restarts) and sagas have their own files.
 */
import { createHappen, HappenError, type HappenEvent } from '../../src/index.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import { createWorkflow, type StepDefinition, type WorkflowConfig } from '../../src/workflow/index.ts';
import { deepEqual, equal, isHappenError, ok, rejects, throws } from './assert.ts';
import { describe, test } from './harness.ts';
import { historyOf, progress, recorder, until } from './workflow-helpers.ts';
import './workflow-durability.ts';
import './workflow-saga.ts';
import './workflow-errors.ts';
import './workflow-storage.ts';

const FAST = { initialMs: 1, factor: 1, jitter: 0 };

describe('workflow', () => {
  test('a linear workflow sends to real nodes: each gets its event once, the result is the last step’s, the history says so', async () => {
    const happen = createHappen();
    const inventory = recorder(happen, 'inventory', (e) => ({ reserved: e.payload.qty }));
    const payments = recorder(happen, 'payments', (e) => ({ charged: e.payload.amount }));
    const seen = progress(happen);
    const wf = createWorkflow('order', {
      happen,
      storage: memoryStorage(),
      steps: [
        { id: 'reserve', run: { send: (input) => ({ target: 'inventory', event: { type: 'inventory.reserve', payload: { qty: input.qty } } }) } },
        { id: 'price', run: (ctx) => ({ amount: ctx.input.qty * (ctx.data.reserve as { reserved: number }).reserved }) },
        { id: 'charge', run: (ctx) => ctx.send('payments', { type: 'payments.charge', payload: ctx.data.price }) },
      ],
    });
    const id = await wf.start({ qty: 3 });
    deepEqual(await wf.result(id), { charged: 9 });
    equal(inventory.length, 1, 'inventory events');
    equal(payments.length, 1, 'payment events');
    deepEqual(payments[0]!.payload, { amount: 9 });
    const instance = await wf.instance(id);
    equal(instance?.status, 'completed');
    equal(instance?.currentStep, undefined);
    deepEqual(instance?.data, { reserve: { reserved: 3 }, price: { amount: 9 }, charge: { charged: 9 } });
    deepEqual(historyOf(instance), ['reserve:run:completed:1', 'price:run:completed:1', 'charge:run:completed:1']);
    ok(instance!.history.every((h) => typeof h.startedAt === 'number' && h.endedAt! >= h.startedAt), 'every entry has its times');
    deepEqual(seen, [
      'workflow.started',
      'workflow.step.started:reserve', 'workflow.step.completed:reserve',
      'workflow.step.started:price', 'workflow.step.completed:price',
      'workflow.step.started:charge', 'workflow.step.completed:charge',
      'workflow.completed',
    ]);
    await wf.close();
  });

  test('its sends are causally linked: one tree under the instance id, each send caused by its step.started, with the idempotency key', async () => {
    const happen = createHappen();
    const db = recorder(happen, 'db');
    const wf = createWorkflow('linked', {
      happen,
      storage: memoryStorage(),
      steps: [
        { id: 'a', run: { send: () => ({ target: 'db', event: { type: 'db.write', payload: 'a' } }) } },
        { id: 'b', run: (ctx) => ctx.send('db', { type: 'db.write', payload: 'b' }).return() },
      ],
    });
    const id = await wf.start();
    await wf.result(id);
    const trace = happen.trace(id);
    equal(trace.roots.length, 1, 'one root');
    equal(trace.roots[0]!.event.type, 'workflow.started');
    const byId = new Map(trace.events.map((e) => [e.id, e]));
    for (const [i, step] of ['a', 'b'].entries()) {
      const sent = db[i]!;
      equal(sent.context.causal.correlationId, id, 'the send joins the instance’s tree');
      const cause = byId.get(sent.context.causal.causationId!);
      equal(cause?.type, 'workflow.step.started', 'caused by the step’s start');
      equal(cause?.payload.step, step);
      equal(sent.context.idempotencyKey, `${id}:${step}`, 'the idempotency key rides along');
    }
    ok(trace.events.some((e) => e.type === 'workflow.completed'), 'the end is in the tree too');
    await wf.close();
  });

  test('conditions choose the next step: a function of the result, a fixed id, "end"; loops get a per-visit idempotency key', async () => {
    const happen = createHappen();
    const storage = memoryStorage();
    const keys: string[] = [];
    const wf = createWorkflow('branch', {
      happen,
      storage,
      steps: [
        { id: 'score', run: (ctx) => ctx.input.score, next: (score) => ((score as number) >= 50 ? 'approve' : 'reject') },
        { id: 'approve', run: () => 'approved', next: 'notify' },
        { id: 'reject', run: () => 'rejected', next: (_r, data) => (data.score === 0 ? 'end' : 'notify') },
        { id: 'notify', run: (ctx) => `notified: ${(ctx.data.approve ?? ctx.data.reject) as string}` },
      ],
    });
    equal(await wf.result(await wf.start({ score: 80 })), 'notified: approved');
    equal(await wf.result(await wf.start({ score: 10 })), 'notified: rejected');
    const zero = await wf.start({ score: 0 });
    equal(await wf.result(zero), 'rejected', '"end" finishes with that step’s result');
    deepEqual(historyOf(await wf.instance(zero)).map((h) => h.split(':')[0]), ['score', 'reject']);

    const loop = createWorkflow('loop', {
      happen,
      storage,
      steps: [
        { id: 'tick', run: (ctx) => { keys.push(ctx.idempotencyKey); return ((ctx.data.tick as number | undefined) ?? 0) + 1; }, next: (n) => ((n as number) < 3 ? 'tick' : undefined) },
        { id: 'done', run: (ctx) => ctx.data.tick },
      ],
    });
    const id = await loop.start(undefined, { instanceId: 'loop-1' });
    equal(await loop.result(id), 3);
    deepEqual(keys, ['loop-1:tick', 'loop-1:tick#2', 'loop-1:tick#3']);
    await wf.close();
    await loop.close();
  });

  test('per-step retries: failed attempts are retried with backoff and the same idempotency key, until one succeeds or the limit', async () => {
    const happen = createHappen();
    const attempts: Array<[number, string]> = [];
    let flaky = 0;
    const wf = createWorkflow('retry', {
      happen,
      storage: memoryStorage(),
      steps: [
        {
          id: 'flaky',
          retries: { limit: 3, backoff: FAST },
          run: (ctx) => {
            attempts.push([ctx.attempt, ctx.idempotencyKey]);
            if (++flaky < 3) throw new HappenError('network', 'DOWN', `down ${flaky}`);
            return 'up';
          },
        },
        { id: 'hopeless', retries: { limit: 2, backoff: FAST }, run: () => Promise.reject(new HappenError('network', 'DOWN', 'still down')) },
      ],
      errorHandling: { retries: { limit: 5, backoff: FAST } }, // the steps' own retries win
    });
    const seen = progress(happen);
    const id = await wf.start(undefined, { instanceId: 'r1' });
    const error = await rejects(wf.result(id));
    isHappenError(error, 'runtime', 'WORKFLOW_FAILED');
    equal(error.details.step, 'hopeless');
    equal(error.details.error.code, 'DOWN');
    deepEqual(attempts, [[1, 'r1:flaky'], [2, 'r1:flaky'], [3, 'r1:flaky']]);
    const instance = await wf.instance(id);
    deepEqual(historyOf(instance), [
      'flaky:run:failed:1', 'flaky:run:failed:2', 'flaky:run:completed:3',
      'hopeless:run:failed:1', 'hopeless:run:failed:2', 'hopeless:run:failed:3',
    ]);
    equal(instance?.status, 'failed', 'nothing to compensate: failed');
    equal(instance?.failedStep, 'hopeless');
    equal(seen.filter((s) => s === 'workflow.step.failed:hopeless').length, 3);
    await wf.close();
  });

  test('retries skip validation errors by default, follow retryIf, and the workflow default applies to steps without their own', async () => {
    const happen = createHappen();
    const runs: Record<string, number> = {};
    const count = (id: string, error: HappenError) => () => {
      runs[id] = (runs[id] ?? 0) + 1;
      throw error;
    };
    const make = (id: string, steps: StepDefinition[], config: Partial<WorkflowConfig> = {}) => createWorkflow(id, { happen, storage: memoryStorage(), steps, ...config });
    const a = make('no-retry-validation', [{ id: 'v', run: count('v', new HappenError('validation', 'BAD', 'bad input')) }], { errorHandling: { retries: { limit: 3, backoff: FAST } } });
    const b = make('retry-if', [{ id: 'r', retries: { limit: 4, backoff: FAST, retryIf: (e) => e.code === 'AGAIN' }, run: () => { runs.r = (runs.r ?? 0) + 1; throw new HappenError('runtime', runs.r < 2 ? 'AGAIN' : 'STOP', 'x'); } }]);
    const c = make('default-retry', [{ id: 'd', run: count('d', new HappenError('network', 'DOWN', 'down')) }], { errorHandling: { retries: { limit: 2, backoff: FAST } } });
    for (const wf of [a, b, c]) await rejects(wf.result(await wf.start()));
    deepEqual(runs, { v: 1, r: 2, d: 3 });
    for (const wf of [a, b, c]) await wf.close();
  });

  test('instances are queryable: instance(id), instances({ status }), and over the mesh with workflow.start and workflow.status', async () => {
    const happen = createHappen();
    const ui = happen.createNode('ui');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const wf = createWorkflow('queried', {
      happen,
      storage: memoryStorage(),
      steps: [
        { id: 'check', run: (ctx) => { if (ctx.input.fail) throw new HappenError('runtime', 'NOPE', 'nope'); return 'ok'; } },
        { id: 'hold', run: (ctx) => (ctx.input.hold ? gate.then(() => 'held') : 'quick') },
      ],
    });
    const done = await wf.start({});
    await wf.result(done);
    await rejects(wf.result(await wf.start({ fail: true })));
    const request = ui.send<{ instanceId: string }>('queried', { type: 'workflow.start', payload: { input: { hold: true }, instanceId: 'from-ui' } });
    deepEqual(await request.return(), { instanceId: 'from-ui' });
    const held = await until(wf, 'from-ui', (i) => i.currentStep === 'hold', 'the held step');
    equal(held?.status, 'running');
    equal(held?.currentStep, 'hold');
    equal(held?.correlationId, request.event.context.causal.correlationId, 'an instance started over the mesh joins the requester’s tree');
    deepEqual((await wf.instances({ status: 'running' })).map((i) => i.id), ['from-ui']);
    deepEqual((await wf.instances({ status: ['completed', 'failed'] })).map((i) => i.status), ['completed', 'failed']);
    equal((await wf.instances()).length, 3);
    const status = await ui.send('queried', { type: 'workflow.status', payload: { instanceId: 'from-ui' } }).return();
    equal(status.currentStep, 'hold');
    deepEqual(historyOf(status), ['check:run:completed:1', 'hold:run:started:1']);
    equal((await ui.send('queried', { type: 'workflow.status', payload: { status: 'failed' } }).return()).length, 1);
    isHappenError(await rejects(ui.send('queried', { type: 'workflow.status', payload: { instanceId: 'nobody' } }).return()), 'validation', 'NO_SUCH_INSTANCE');
    isHappenError(await rejects(ui.send('queried', { type: 'workflow.start', payload: 'not an object' }).return()), 'validation', 'INVALID_START');
    equal(await wf.instance('nobody'), undefined);
    release();
    equal(await wf.result('from-ui'), 'held');
    await wf.close();
  });

  test('starting an existing instance id starts nothing: a repeated workflow.start (a redelivery) runs each step once', async () => {
    const happen = createHappen();
    const db = recorder(happen, 'db');
    const wf = createWorkflow('once', { happen, storage: memoryStorage(), steps: [{ id: 'write', run: { send: () => ({ target: 'db', event: { type: 'db.write' } }) } }] });
    const ids = await Promise.all([wf.start(1, { instanceId: 'same' }), wf.start(2, { instanceId: 'same' })]);
    deepEqual(ids, ['same', 'same']);
    await wf.result('same');
    equal(await wf.start(3, { instanceId: 'same' }), 'same');
    equal((await wf.instance('same'))?.input, 1, 'the first start’s input');
    equal(db.length, 1, 'one write');
    await wf.close();
  });

  test('progress events reach other nodes: a node can follow an instance by its correlation id', async () => {
    const happen = createHappen();
    const followed: HappenEvent[] = [];
    happen.createNode('follower').on('workflow.*', (e) => void followed.push(e));
    const wf = createWorkflow('followed', { happen, storage: memoryStorage(), steps: [{ id: 'only', run: () => 42 }] });
    const id = await wf.start('in');
    await wf.result(id);
    await happen.settled();
    deepEqual(followed.map((e) => e.type), ['workflow.started', 'workflow.completed']);
    deepEqual(followed.map((e) => [e.payload.workflow, e.payload.instanceId, e.context.causal.correlationId]), [['followed', id, id], ['followed', id, id]]);
    deepEqual(followed[1]!.payload.result, 42);
    equal(throws(() => createWorkflow('followed', { happen, storage: memoryStorage(), steps: [{ id: 'x', run: () => 1 }] })).code, 'DUPLICATE_NODE', 'it is a node: ids are unique');
    await wf.close();
    ok(happen.getNode('followed') === undefined, 'close() removes the node');
  });
});
