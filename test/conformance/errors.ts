import { createHappen, ERROR_EVENT, HappenError, type HappenEvent } from '../../src/index.ts';
import { deepEqual, equal, isHappenError, ok, rejects, throws } from './assert.ts';
import { describe, test } from './harness.ts';

describe('errors', () => {
  test('HappenError carries category, code and details', () => {
    const error = new HappenError('network', 'OFFLINE', 'no route', { hop: 2 });
    ok(error instanceof Error);
    equal(error.name, 'HappenError');
    deepEqual(error.toJSON(), { category: 'network', code: 'OFFLINE', message: 'no route', details: { hop: 2 } });
    const back = HappenError.from(JSON.parse(JSON.stringify(error)));
    isHappenError(back, 'network', 'OFFLINE');
    isHappenError(HappenError.from(new TypeError('bad')), 'runtime', 'HANDLER_ERROR');
    isHappenError(HappenError.from('text'), 'runtime', 'HANDLER_ERROR');
  });

  test('a handler error becomes an error event causally linked to its cause', async () => {
    const happen = createHappen();
    happen.createNode('worker').on('job', () => {
      throw new HappenError('runtime', 'JOB_FAILED', 'disk full');
    });
    const ui = happen.createNode('ui');
    const errors: HappenEvent[] = [];
    ui.on(ERROR_EVENT, (e) => void errors.push(e));
    const job = ui.broadcast({ type: 'job' });
    await happen.settled();
    equal(errors.length, 1);
    const e = errors[0]!;
    equal(e.context.causal.causationId, job.id);
    equal(e.context.causal.correlationId, job.id);
    equal(e.context.causal.sender, 'worker');
    equal(e.payload.code, 'JOB_FAILED');
    equal(e.payload.eventType, 'job');
    ok(happen.trace(job.id).events.some((x) => x.type === ERROR_EVENT), 'the error is in the trace');
  });

  test('an error in one handler never stops other handlers or nodes', async () => {
    const happen = createHappen();
    const ran: string[] = [];
    const a = happen.createNode('a');
    a.on('go', () => {
      throw new Error('first fails');
    });
    a.on('go', () => void ran.push('a2'));
    happen.createNode('b').on('go', async () => {
      ran.push('b');
      throw new Error('async fail');
    });
    happen.createNode('c').on('go', () => void ran.push('c'));
    const src = happen.createNode('src');
    src.broadcast({ type: 'go' });
    src.broadcast({ type: 'go' });
    await happen.settled();
    deepEqual(ran.sort(), ['a2', 'a2', 'b', 'b', 'c', 'c']);
    equal(happen.events().filter((e) => e.type === ERROR_EVENT).length, 4);
  });

  test('a failing error handler does not loop', async () => {
    const happen = createHappen();
    happen.createNode('w').on('job', () => {
      throw new Error('x');
    });
    const ui = happen.createNode('ui');
    let calls = 0;
    ui.on(ERROR_EVENT, () => {
      calls++;
      throw new Error('handler of errors fails too');
    });
    ui.broadcast({ type: 'job' });
    await happen.settled();
    equal(calls, 1);
  });

  test('non-function handlers and hooks are rejected', () => {
    const node = createHappen().createNode('n');
    isHappenError(throws(() => node.on('x', 'nope' as never)), 'validation', 'INVALID_HANDLER');
    isHappenError(throws(() => node.hook('preEmit', 5 as never)), 'validation', 'INVALID_HOOK');
  });

  test('a thrown non-Error value still becomes a HappenError', async () => {
    const happen = createHappen();
    happen.createNode('w').on('job', () => {
      throw 'plain string';
    });
    const error = await rejects(happen.createNode('ui').send('w', { type: 'job' }).return());
    isHappenError(error, 'runtime', 'HANDLER_ERROR');
    equal(error.message, 'plain string');
  });

  test('accepted events keep flowing after bad input', async () => {
    const happen = createHappen();
    let handled = 0;
    happen.createNode('n').on('ok', () => void handled++);
    const ui = happen.createNode('ui');
    for (let i = 0; i < 10; i++) {
      ui.broadcast({ type: 'ok' });
      throws(() => ui.broadcast({ type: 'bad type' }));
      await rejects(ui.send('ghost', { type: 'ok' }).return());
    }
    await happen.settled();
    equal(handled, 10);
  });
});
