/** Workflows when storage misbehaves: a failing write stalls an instance until a later wake; a second writer is fenced off. */
import { createHappen, type HappenEvent } from '../../src/index.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import { storageError, type Storage } from '../../src/storage/storage.ts';
import { durableObjectScheduler } from '../../src/workflow/durable-object-scheduler.ts';
import { createWorkflow, timerScheduler, type WorkflowConfig } from '../../src/workflow/index.ts';
import { deepEqual, equal, ok, sleep } from './assert.ts';
import { describe, test } from './harness.ts';
import { historyOf, manualTime, progress, recorder, until, waitFor, withBatch } from './workflow-helpers.ts';

/** `inner`, but the batch writing a record that satisfies `when` fails once with STORAGE_FAILED. */
function failingOnce(inner: Storage, when: (record: { history: Array<{ step: string; status: string }> }) => boolean): Storage {
  let failed = false;
  return withBatch(inner, async (ops, checks) => {
    const record = ops.find((op) => op.type === 'put' && op.key.includes('/instance/'));
    if (!failed && record?.type === 'put' && when(record.value as never)) {
      failed = true;
      throw storageError('STORAGE_FAILED', 'the disk hiccuped');
    }
    return inner.batch(ops, checks);
  });
}

describe('workflow storage', () => {
  test('a write that fails stalls the instance (workflow.stalled), a later wake resumes it from storage: the interrupted step runs again, at least once', async () => {
    const happen = createHappen();
    const time = manualTime();
    const ledger = recorder(happen, 'ledger');
    const seen = progress(happen);
    const storage = failingOnce(memoryStorage(), (r) => r.history.some((h) => h.step === 'a' && h.status === 'completed'));
    const wf = createWorkflow('hiccup', {
      happen,
      storage,
      now: time.now,
      scheduler: time.scheduler,
      steps: ['a', 'b'].map((id) => ({ id, run: { send: () => ({ target: 'ledger', event: { type: 'ledger.apply', payload: id } }) } })),
    });
    const id = await wf.start(undefined, { instanceId: 'h1' });
    await waitFor(() => seen.includes('workflow.stalled:a'), 'the stall');
    deepEqual(historyOf(await wf.instance(id)), ['a:run:started:1'], 'storage keeps the last state that was written');
    const retryAt = time.requested()!;
    ok(retryAt - time.now() >= 800 && retryAt - time.now() <= 1_200, `a retry about a second later (${retryAt - time.now()} ms)`);
    time.advance(1_200);
    await wf.wake();
    deepEqual(await wf.result(id), { done: 'b' });
    equal((await wf.instance(id))?.status, 'completed');
    deepEqual(ledger.map((e: HappenEvent) => [e.payload, e.context.idempotencyKey]), [['a', 'h1:a'], ['a', 'h1:a'], ['b', 'h1:b']], 'a ran again with its key; b once');
    deepEqual(historyOf(await wf.instance(id)), ['a:run:interrupted:1', 'a:run:completed:2', 'b:run:completed:1']);
    await wf.close();
  });

  test('two objects on one storage (another tab): the stale one’s write is refused with CONFLICT, it takes the stored state, and nothing runs twice', async () => {
    const storage = memoryStorage();
    const time = manualTime();
    const a = createHappen({ id: 'tab-a' });
    const b = createHappen({ id: 'tab-b' });
    const ledgers = [recorder(a, 'ledger'), recorder(b, 'ledger')];
    const config = (happen: typeof a): WorkflowConfig => ({
      happen,
      storage,
      now: time.now,
      scheduler: time.scheduler,
      steps: [
        { id: 'nap', sleep: 1_000 },
        { id: 'after', run: { send: () => ({ target: 'ledger', event: { type: 'ledger.apply' } }) } },
      ],
    });
    const first = createWorkflow('twin', config(a));
    const id = await first.start();
    await until(first, id, (i) => i.status === 'sleeping');
    const second = createWorkflow('twin', config(b));
    equal(await second.resume(), 0, 'the constructor already resumed it');
    await second.ready;
    equal((await second.instance(id))?.status, 'sleeping', 'both objects now drive it');
    const fromSecond = second.result(id);
    time.advance(1_000);
    await first.wake();
    equal((await first.instance(id))?.status, 'completed');
    await second.wake(); // its copy is stale: completing the nap again conflicts
    deepEqual(await fromSecond, { done: undefined }, 'the second object learns the stored result');
    deepEqual(ledgers.map((l) => l.length), [1, 0], 'the last step ran once, in the first tab');
    deepEqual(historyOf(await second.instance(id)), ['nap:run:completed:1', 'after:run:completed:1']);
    await first.close();
    await second.close();
  });

  test('the schedulers: the Durable Object alarm only moves earlier and re-arms once spent; timers take waits past setTimeout’s limit', async () => {
    let now = 1_000;
    let alarm: number | null = null;
    const sets: number[] = [];
    const state = { storage: { getAlarm: async () => alarm, setAlarm: async (at: number | Date) => void sets.push((alarm = Number(at))) } };
    const scheduler = durableObjectScheduler(state, () => now);
    const wake = () => undefined;
    await Promise.all([scheduler.schedule(5_000, wake), scheduler.schedule(3_000, wake), scheduler.schedule(4_000, wake)]);
    deepEqual(sets, [5_000, 3_000], 'set, then moved earlier; a later time leaves it');
    await scheduler.schedule(3_000, wake);
    equal(sets.length, 2, 'the same time is not set again');
    now = 3_500; // the alarm at 3,000 is firing: spent
    await scheduler.schedule(6_000, wake);
    deepEqual(sets, [5_000, 3_000, 6_000], 'a spent alarm is replaced');
    const failing = durableObjectScheduler({ storage: { getAlarm: async () => null, setAlarm: () => Promise.reject(new Error('no alarms')) } });
    await failing.schedule(1, wake).then(() => ok(false, 'expected a rejection'), (e: Error) => equal(e.message, 'no alarms'));
    await failing.schedule(1, wake).catch(() => undefined); // a failure does not block later requests

    let fired = 0;
    const timers = timerScheduler();
    const count = () => void fired++;
    timers.schedule(Date.now() + 30 * 24 * 3600 * 1000, count); // past 2^31 - 1 ms: must not fire at once
    timers.schedule(Date.now() + 5, () => void (fired += 10));
    await sleep(40);
    equal(fired, 10, 'the near one fired, the 30-day one did not overflow');
    timers.cancel!(count);
  });
});
