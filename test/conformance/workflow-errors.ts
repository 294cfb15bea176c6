/** Workflow errors: bad definitions and bad input are typed errors; odd failures end an instance cleanly, never the node. */
import { createHappen } from '../../src/index.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import { createWorkflow, type WorkflowConfig } from '../../src/workflow/index.ts';
import { deepEqual, equal, isHappenError, ok, rejects, throws } from './assert.ts';
import { describe, test } from './harness.ts';

const run = () => 1;

describe('workflow errors', () => {
  test('bad definitions throw INVALID_CONFIG naming the problem, and create no node', () => {
    const happen = createHappen();
    const storage = memoryStorage();
    const cases: Array<[string, unknown, string?]> = [
      ['no config', undefined],
      ['no storage', { steps: [{ id: 'a', run }] }],
      ['a storage without batch', { storage: { get: run, put: run, list: run }, steps: [{ id: 'a', run }] }],
      ['no steps', { storage, steps: [] }],
      ['steps not an array', { storage, steps: { id: 'a', run } }],
      ['a step that is not an object', { storage, steps: [null] }],
      ['a step without an id', { storage, steps: [{ run }] }],
      ['duplicate ids', { storage, steps: [{ id: 'a', run }, { id: 'a', run }] }, 'repeats'],
      ['the reserved id "end"', { storage, steps: [{ id: 'end', run }] }, 'reserved'],
      ['next naming no step', { storage, steps: [{ id: 'a', run, next: 'b' }] }, 'names no step'],
      ['next neither id nor function', { storage, steps: [{ id: 'a', run, next: 3 }] }],
      ['no kind', { storage, steps: [{ id: 'a' }] }, 'exactly one'],
      ['two kinds', { storage, steps: [{ id: 'a', run, sleep: 5 }] }, 'exactly one'],
      ['run neither function nor send', { storage, steps: [{ id: 'a', run: 'go' }] }],
      ['send not a function', { storage, steps: [{ id: 'a', run: { send: {} } }] }],
      ['negative retries', { storage, steps: [{ id: 'a', run, retries: -1 }] }],
      ['fractional retries', { storage, steps: [{ id: 'a', run, retries: 1.5 }] }],
      ['bad backoff', { storage, steps: [{ id: 'a', run, retries: { limit: 1, backoff: { initialMs: -5 } } }] }],
      ['retryIf not a function', { storage, steps: [{ id: 'a', run, retries: { limit: 1, retryIf: true } }] }],
      ['zero timeout', { storage, steps: [{ id: 'a', run, timeoutMs: 0 }] }],
      ['retries on a sleep', { storage, steps: [{ id: 'a', sleep: 5, retries: 1 }] }],
      ['negative sleep', { storage, steps: [{ id: 'a', sleep: -1 }] }],
      ['NaN sleep', { storage, steps: [{ id: 'a', sleep: Number.NaN }] }],
      ['wait without a type', { storage, steps: [{ id: 'a', waitForEvent: {} }] }, 'pattern'],
      ['wait with an empty type', { storage, steps: [{ id: 'a', waitForEvent: { type: '' } }] }],
      ['wait with a bad pattern', { storage, steps: [{ id: 'a', waitForEvent: { type: 'a.{b' } }] }],
      ['wait with a bad match', { storage, steps: [{ id: 'a', waitForEvent: { type: 'x', match: 'yes' } }] }],
      ['wait with a bad onTimeout', { storage, steps: [{ id: 'a', waitForEvent: { type: 'x', onTimeout: 'retry' } }] }],
      ['compensate not a function', { storage, steps: [{ id: 'a', run, compensate: 'undo' }] }],
      ['a scheduler without schedule', { storage, steps: [{ id: 'a', run }], scheduler: {} }],
      ['now not a function', { storage, steps: [{ id: 'a', run }], now: 5 }],
      ['maxSteps 0', { storage, steps: [{ id: 'a', run }], maxSteps: 0 }],
      ['errorHandling.compensate not boolean', { storage, steps: [{ id: 'a', run }], errorHandling: { compensate: 'yes' } }],
      ['bad default retries', { storage, steps: [{ id: 'a', run }], errorHandling: { retries: 'many' } }],
    ];
    for (const [label, config, mentions] of cases) {
      const error = throws(() => createWorkflow('bad', { happen, ...(config as WorkflowConfig) } as WorkflowConfig), `${label}: expected a throw`);
      isHappenError(error, 'validation', 'INVALID_CONFIG');
      if (mentions) ok(error.message.includes(mentions), `${label}: "${error.message}" mentions "${mentions}"`);
      equal(happen.getNode('bad'), undefined, `${label}: no node was created`);
    }
    isHappenError(throws(() => createWorkflow('a/b', { happen, storage, steps: [{ id: 'a', run }] })), 'validation', 'INVALID_CONFIG');
    isHappenError(throws(() => createWorkflow('has space', { happen, storage, steps: [{ id: 'a', run }] })), 'validation', 'INVALID_NODE_ID');
  });

  test('bad input to start, instance, instances and result is a typed error; a closed workflow says WORKFLOW_CLOSED', async () => {
    const happen = createHappen();
    const wf = createWorkflow('strict', { happen, storage: memoryStorage(), steps: [{ id: 'a', run }] });
    isHappenError(await rejects(wf.start(1, { instanceId: 'has space' })), 'validation', 'INVALID_INSTANCE_ID');
    isHappenError(await rejects(wf.start(1, { instanceId: '' })), 'validation', 'INVALID_INSTANCE_ID');
    isHappenError(await rejects(wf.start(1, { instanceId: 7 as unknown as string })), 'validation', 'INVALID_INSTANCE_ID');
    isHappenError(await rejects(wf.start({ fn: () => 1 })), 'validation', 'INVALID_INPUT');
    isHappenError(await rejects(wf.start(1, { correlationId: '' })), 'validation', 'INVALID_START');
    isHappenError(await rejects(wf.start(1, null as never)), 'validation', 'INVALID_START');
    isHappenError(await rejects(wf.instance(5 as unknown as string)), 'validation', 'INVALID_INSTANCE_ID');
    isHappenError(await rejects(wf.instances({ status: 'asleep' as never })), 'validation', 'INVALID_QUERY');
    isHappenError(await rejects(wf.result('nobody')), 'validation', 'NO_SUCH_INSTANCE');
    equal((await wf.instances()).length, 0, 'nothing was started by the bad calls');
    const id = await wf.start();
    equal(await wf.result(id), 1, 'the workflow still works');
    await wf.close();
    await wf.close(); // twice is fine
    isHappenError(await rejects(wf.start()), 'runtime', 'WORKFLOW_CLOSED');
    isHappenError(await rejects(wf.result(id)), 'runtime', 'WORKFLOW_CLOSED');
  });

  test('a step throwing a non-Error value (a string, a number, an object, undefined) fails its instance with a readable HANDLER_ERROR', async () => {
    const happen = createHappen();
    const thrown: unknown[] = ['boom', 42, { reason: 'quota' }, undefined, null];
    const wf = createWorkflow('thrower', { happen, storage: memoryStorage(), steps: [{ id: 'throw', run: (ctx) => { throw thrown[ctx.input as number]; } }] });
    const messages: string[] = [];
    for (let i = 0; i < thrown.length; i++) {
      const error = await rejects(wf.result(await wf.start(i)));
      isHappenError(error, 'runtime', 'WORKFLOW_FAILED');
      equal(error.details.error.code, 'HANDLER_ERROR');
      messages.push(error.details.error.message);
    }
    deepEqual(messages, [
      'Threw a non-error value: "boom"',
      'Threw a non-error value: 42',
      'Threw a non-error value: {"reason":"quota"}',
      'Threw a non-error value: undefined',
      'Threw a non-error value: null',
    ]);
    await wf.close();
  });

  test('odd results end the instance with a typed error: an unstorable value, an unknown next step, a timeout, a bad sleep, a loop past maxSteps', async () => {
    const happen = createHappen();
    const storage = memoryStorage();
    let aborted = false;
    const cases: Array<[string, WorkflowConfig, string, string]> = [
      ['unstorable', { happen, storage, steps: [{ id: 'fn', run: () => () => 1 }] }, 'validation', 'INVALID_STEP_RESULT'],
      ['cyclic', { happen, storage, steps: [{ id: 'cycle', run: () => { const o: Record<string, unknown> = {}; o.self = o; return o; } }] }, 'validation', 'INVALID_STEP_RESULT'],
      ['next', { happen, storage, steps: [{ id: 'a', run, next: () => 'nowhere' }] }, 'validation', 'INVALID_NEXT_STEP'],
      ['next-throws', { happen, storage, steps: [{ id: 'a', run, next: () => { throw new Error('no way'); } }] }, 'runtime', 'HANDLER_ERROR'],
      ['slow', { happen, storage, steps: [{ id: 'slow', timeoutMs: 20, run: (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => { aborted = true; resolve('late'); })) }] }, 'timeout', 'TIMEOUT'],
      ['sleep', { happen, storage, steps: [{ id: 'nap', sleep: () => -5 }] }, 'validation', 'INVALID_SLEEP'],
      ['loop', { happen, storage, maxSteps: 5, steps: [{ id: 'again', run, next: 'again' }] }, 'runtime', 'STEP_LIMIT'],
      ['send-spec', { happen, storage, steps: [{ id: 's', run: { send: () => ({ target: 5 }) as never } }] }, 'validation', 'INVALID_STEP_SEND'],
      ['no-node', { happen, storage, steps: [{ id: 's', run: { send: () => ({ target: 'ghost', event: { type: 'x.y' } }) } }] }, 'runtime', 'NO_SUCH_NODE'],
      ['bad-event', { happen, storage, steps: [{ id: 's', run: (ctx) => ctx.send('ghost', { type: 'has space' }) }] }, 'validation', 'INVALID_EVENT_TYPE'],
    ];
    for (const [name, config, category, code] of cases) {
      const wf = createWorkflow(`odd-${name}`, config);
      const id = await wf.start();
      const error = await rejects(wf.result(id));
      isHappenError(error, 'runtime', 'WORKFLOW_FAILED');
      equal(error.details.error.category, category, `${name}: category`);
      equal(error.details.error.code, code, `${name}: code (${error.details.error.message})`);
      equal((await wf.instance(id))?.status, 'failed', name);
      await wf.close();
    }
    ok(aborted, 'the timed-out step’s signal aborted');
    const loop = createWorkflow('odd-loop', { happen, storage, steps: [{ id: 'again', run }] });
    equal((await loop.instances())[0]?.history.length, 5, 'the loop stopped at maxSteps');
    await loop.close();
  });
});
