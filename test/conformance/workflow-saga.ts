/** Sagas: a failing step compensates the completed ones in reverse order, durably. */
import { createHappen, HappenError, type Happen } from '../../src/index.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { createWorkflow, type CompensationContext, type StepDefinition, type Workflow } from '../../src/workflow/index.ts';
import { deepEqual, equal, isHappenError, ok, rejects } from './assert.ts';
import { describe, test } from './harness.ts';
import { crashingStorage, historyOf, progress, recorder, waitFor } from './workflow-helpers.ts';

const STEPS = ['book', 'charge', 'reserve', 'notify'];

interface Saga {
  workflow: Workflow;
  undone: string[];
  contexts: CompensationContext[];
}

/** Four steps; `failAt` throws; every step has a compensation (charge's is a send to the bank). */
function saga(happen: Happen, storage: Storage, id: string, failAt: number, options: { compensate?: boolean; undone?: string[] } = {}): Saga {
  const undone = options.undone ?? [];
  const contexts: CompensationContext[] = [];
  const steps: StepDefinition[] = STEPS.map((step, i) => ({
    id: step,
    run: (ctx) => {
      if (i === failAt) throw new HappenError('runtime', 'STEP_BROKE', `${step} broke`);
      return `${step}-${ctx.input.trip}`;
    },
    compensate:
      step === 'charge'
        ? { send: (_input, data) => ({ target: 'bank', event: { type: 'bank.refund', payload: { of: data.charge } } }) }
        : (ctx) => {
            contexts.push(ctx);
            undone.push(step);
          },
  }));
  return { workflow: createWorkflow(id, { happen, storage, steps, errorHandling: { compensate: options.compensate } }), undone, contexts };
}

describe('workflow sagas', () => {
  test('a saga failing at every step k compensates the steps before k in reverse order and ends compensated', async () => {
    for (let k = 0; k < STEPS.length; k++) {
      const happen = createHappen();
      const undone: string[] = [];
      recorder(happen, 'bank', (e) => void undone.push(`charge(refund ${e.payload.of})`));
      const seen = progress(happen);
      const { workflow, contexts } = saga(happen, memoryStorage(), `saga-${k}`, k, { undone });
      const id = await workflow.start({ trip: 'rome' }, { instanceId: `trip-${k}` });
      const error = await rejects(workflow.result(id));
      isHappenError(error, 'runtime', 'WORKFLOW_COMPENSATED');
      equal(error.details.step, STEPS[k]);
      equal(error.details.error.code, 'STEP_BROKE');
      const expected = STEPS.slice(0, k).reverse().map((s) => (s === 'charge' ? 'charge(refund charge-rome)' : s));
      deepEqual(undone, expected, `compensations when ${STEPS[k]} fails`);
      const instance = await workflow.instance(id);
      equal(instance?.status, 'compensated');
      equal(instance?.failedStep, STEPS[k]);
      equal(instance?.error?.code, 'STEP_BROKE');
      deepEqual(
        historyOf(instance),
        [...STEPS.slice(0, k).map((s) => `${s}:run:completed:1`), `${STEPS[k]}:run:failed:1`, ...STEPS.slice(0, k).reverse().map((s) => `${s}:compensate:completed:1`)],
      );
      for (const ctx of contexts) {
        equal(ctx.result, `${ctx.stepId}-rome`, 'a compensation sees what its step returned');
        equal(ctx.error.code, 'STEP_BROKE', 'and why it runs');
        equal(ctx.idempotencyKey, `${id}:${ctx.stepId}:compensate`);
      }
      await happen.settled();
      deepEqual(seen.slice(-2 - 2 * k), [
        `workflow.compensating:${STEPS[k]}`,
        ...STEPS.slice(0, k).reverse().flatMap((s) => [`workflow.step.started:${s}:compensate`, `workflow.step.completed:${s}:compensate`]),
        `workflow.compensated:${STEPS[k]}`,
      ]);
      await workflow.close();
    }
  });

  test('with compensate: false, or no compensations defined, a failure ends failed and undoes nothing', async () => {
    const happen = createHappen();
    recorder(happen, 'bank');
    const off = saga(happen, memoryStorage(), 'saga-off', 2, { compensate: false });
    isHappenError(await rejects(off.workflow.result(await off.workflow.start({ trip: 'x' }))), 'runtime', 'WORKFLOW_FAILED');
    deepEqual(off.undone, []);
    const plain = createWorkflow('no-compensations', { happen, storage: memoryStorage(), steps: [{ id: 'a', run: () => 1 }, { id: 'b', run: () => { throw new Error('no'); } }] });
    const id = await plain.start();
    isHappenError(await rejects(plain.result(id)), 'runtime', 'WORKFLOW_FAILED');
    equal((await plain.instance(id))?.status, 'failed');
    await off.workflow.close();
    await plain.close();
  });

  test('a compensation that keeps failing is retried, recorded, and the others still run: the saga ends failed', async () => {
    const happen = createHappen();
    const undone: string[] = [];
    let tries = 0;
    const wf = createWorkflow('stuck-saga', {
      happen,
      storage: memoryStorage(),
      steps: [
        { id: 'a', run: () => 'a', compensate: () => void undone.push('a') },
        { id: 'b', run: () => 'b', retries: { limit: 1, backoff: { initialMs: 1, jitter: 0 } }, compensate: () => { tries++; throw new HappenError('network', 'UNDO_DOWN', 'cannot undo b'); } },
        { id: 'c', run: () => 'c', compensate: () => void undone.push('c') },
        { id: 'd', run: () => { throw 'd broke'; } },
      ],
    });
    const id = await wf.start();
    const error = await rejects(wf.result(id));
    isHappenError(error, 'runtime', 'WORKFLOW_FAILED');
    deepEqual(error.details.compensationErrors.map((e: { step: string; error: { code: string } }) => [e.step, e.error.code]), [['b', 'UNDO_DOWN']]);
    deepEqual(undone, ['c', 'a'], 'the others were undone, in reverse');
    equal(tries, 2, 'b’s compensation was tried once more (its step’s retries)');
    const instance = await wf.instance(id);
    equal(instance?.status, 'failed');
    equal(instance?.error?.message.includes('d broke'), true, 'the instance error is still the step’s failure');
    await wf.close();
  });

  test('a crash during compensation resumes it: each compensation runs once, in order', async () => {
    const happen = createHappen();
    const stored = memoryStorage();
    const undone: string[] = [];
    recorder(happen, 'bank', (e) => void undone.push(`charge(refund ${e.payload.of})`));
    let first: Saga | undefined;
    let crashed: Promise<void> | undefined;
    // Right after the first compensation (reserve's) is recorded complete.
    const storage = crashingStorage(stored, (r) => r.history.some((h) => h.phase === 'compensate' && h.status === 'completed'), () => (crashed = first!.workflow.close()));
    first = saga(happen, storage, 'crash-saga', 3, { undone });
    const id = await first.workflow.start({ trip: 'oslo' });
    await waitFor(() => crashed !== undefined, 'the crash');
    await crashed;
    deepEqual(undone, ['reserve']);
    const second = saga(happen, stored, 'crash-saga', 3, { undone });
    isHappenError(await rejects(second.workflow.result(id)), 'runtime', 'WORKFLOW_COMPENSATED');
    deepEqual(undone, ['reserve', 'charge(refund charge-oslo)', 'book']);
    const compensations = (await second.workflow.instance(id))!.history.filter((h) => h.phase === 'compensate');
    deepEqual(compensations.map((h) => `${h.step}:${h.status}`), ['reserve:completed', 'charge:completed', 'book:completed']);
    ok(second.contexts.every((c) => c.error.code === 'STEP_BROKE'), 'the resumed compensations know the failure');
    await second.workflow.close();
  });
});
