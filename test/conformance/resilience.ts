import { createHappen, ERROR_EVENT, HappenError, type HappenEvent, type Middleware } from '../../src/index.ts';
import {
  breakerRegistry,
  circuitBreaker,
  handlerSignal,
  resilience,
  resilientSend,
  withResilience,
} from '../../src/resilience/index.ts';
import { deepEqual, equal, isHappenError, ok, rejects, sleep, throws } from './assert.ts';
import { describe, test } from './harness.ts';
import './resilience-policies.ts';

const boom = (code = 'BOOM') => new HappenError('runtime', code, 'it broke');
const errorEvents = (happen: { events(): HappenEvent[] }) => happen.events().filter((e) => e.type === ERROR_EVENT);

/** A node that records every event of the given types it sees. */
function monitor(happen: ReturnType<typeof createHappen>, ...types: string[]): HappenEvent[] {
  const seen: HappenEvent[] = [];
  const node = happen.createNode('monitor');
  for (const type of types) node.on(type, (e) => void seen.push(e));
  return seen;
}

describe('resilience: one error report per handled event', () => {
  test('without middleware a handler failure is still reported once, before the sender hears of it', async () => {
    const happen = createHappen();
    happen.createNode('w').on('job', () => {
      throw boom();
    });
    happen.createNode('w2').on('job', async () => {
      throw boom('ASYNC');
    });
    const ui = happen.createNode('ui');
    isHappenError(await rejects(ui.send('w', { type: 'job' }).return()), 'runtime', 'BOOM');
    equal(errorEvents(happen).length, 1, 'already reported when the reply arrives');
    isHappenError(await rejects(ui.send('w2', { type: 'job' }).return()), 'runtime', 'ASYNC');
    await happen.settled();
    deepEqual(errorEvents(happen).map((e) => e.payload.code), ['BOOM', 'ASYNC']);
  });

  test('with handle middleware a failure retried into success emits no error event; one that stays failed emits one', async () => {
    const happen = createHappen();
    const againOnce: Middleware = {
      handle: async (_e, _ctx, next) => {
        try {
          return await next();
        } catch {
          return await next();
        }
      },
    };
    let calls = 0;
    const w = happen.createNode('w').use(againOnce);
    w.on('flaky', async () => {
      if (++calls === 1) throw boom();
      return 'second time';
    });
    w.on('broken', () => {
      throw boom('ALWAYS');
    });
    const ui = happen.createNode('ui');
    equal(await ui.send('w', { type: 'flaky' }).return(), 'second time');
    await happen.settled();
    equal(errorEvents(happen).length, 0, 'a retried-then-successful event reports nothing');
    isHappenError(await rejects(ui.send('w', { type: 'broken' }).return()), 'runtime', 'ALWAYS');
    await happen.settled();
    const errors = errorEvents(happen);
    equal(errors.length, 1, 'exactly one error event after the chain gave up');
    equal(errors[0]!.payload.code, 'ALWAYS');
    equal(errors[0]!.context.target, 'ui', 'to the sender, as before');
  });

  test('with middleware, failures of other handlers of the same event are still reported once each', async () => {
    const happen = createHappen();
    const w = happen.createNode('w').use({ handle: (_e, _c, next) => next() });
    w.on('partial', () => {
      throw boom('A');
    });
    w.on('partial', () => 'b answered');
    w.on('both', () => {
      throw boom('FIRST');
    });
    w.on('both', async () => {
      throw boom('SECOND');
    });
    const ui = happen.createNode('ui');
    equal(await ui.send('w', { type: 'partial' }).return(), 'b answered');
    isHappenError(await rejects(ui.send('w', { type: 'both' }).return()), 'runtime', 'FIRST');
    await happen.settled();
    deepEqual(errorEvents(happen).map((e) => e.payload.code).sort(), ['A', 'FIRST', 'SECOND']);
  });
});

describe('resilience: node middleware', () => {
  test('a flaky handler is retried with backoff and succeeds: no error event, retry.attempt events in the causal web', async () => {
    const happen = createHappen();
    let calls = 0;
    withResilience(happen.createNode('api'), { retry: { attempts: 4, initialMs: 2, jitter: 0 } }).on('fetch', async (e) => {
      if (++calls < 3) throw boom('FLAKY');
      return `got ${e.payload}`;
    });
    const retries = monitor(happen, 'retry.attempt');
    const ui = happen.createNode('ui');
    const sent = ui.send('api', { type: 'fetch', payload: 'x' });
    equal(await sent.return(), 'got x');
    await happen.settled();
    equal(calls, 3);
    equal(errorEvents(happen).length, 0, 'no error event for a retried success');
    deepEqual(retries.map((e) => [e.payload.node, e.payload.eventType, e.payload.attempt, e.payload.delayMs, e.payload.error.code]), [
      ['api', 'fetch', 2, 2, 'FLAKY'],
      ['api', 'fetch', 3, 4, 'FLAKY'],
    ]);
    equal(retries[0]!.context.causal.causationId, sent.event.id, 'caused by the event being handled');
    equal(happen.trace(sent.event.id).events.filter((e) => e.type === 'retry.attempt').length, 2, 'in the trace');
  });

  test('attempts exhausted: the sender gets the handler’s error and exactly one error event', async () => {
    const happen = createHappen();
    let calls = 0;
    withResilience(happen.createNode('api'), { retry: { attempts: 3, initialMs: 1 } }).on('fetch', () => {
      calls++;
      throw boom('DOWN');
    });
    isHappenError(await rejects(happen.createNode('ui').send('api', { type: 'fetch' }).return()), 'runtime', 'DOWN');
    await happen.settled();
    equal(calls, 3);
    equal(errorEvents(happen).length, 1);
  });

  test('a handler exceeding its timeout sees ctx.signal aborted; the sender gets TIMEOUT', async () => {
    const happen = createHappen();
    let aborted: unknown;
    let sawSignal = false;
    withResilience(happen.createNode('slow'), { timeout: 25 }).on('work', (_e, ctx) => {
      const signal = handlerSignal(ctx);
      sawSignal = signal === ctx.signal && signal instanceof AbortSignal;
      return new Promise((resolve) => signal!.addEventListener('abort', () => ((aborted = signal!.reason), resolve('too late'))));
    });
    const expired = monitor(happen, 'timeout.expired');
    const started = Date.now();
    const error = await rejects(happen.createNode('ui').send('slow', { type: 'work' }).return());
    isHappenError(error, 'timeout', 'TIMEOUT');
    ok(Date.now() - started >= 20, 'after the limit');
    ok(sawSignal, 'the handler got an AbortSignal as ctx.signal');
    isHappenError(aborted, 'timeout', 'TIMEOUT');
    await happen.settled();
    deepEqual(expired.map((e) => [e.payload.node, e.payload.timeoutMs]), [['slow', 25]]);
    equal(errorEvents(happen).length, 1);
  });

  test('a node whose breaker opens emits breaker.opened and forwards to the fallback node, all in the causal web', async () => {
    const happen = createHappen();
    const breaker = circuitBreaker({ failureThreshold: 2, resetTimeoutMs: 60_000 });
    let primaryCalls = 0;
    withResilience(happen.createNode('primary'), { breaker, fallback: 'backup' }).on('quote', () => {
      primaryCalls++;
      throw boom('PRIMARY_DOWN');
    });
    happen.createNode('backup').on('quote', (e, ctx) => `backup quote for ${e.payload} (via ${ctx.event.context.causal.sender})`);
    const seen = monitor(happen, 'breaker.*', 'fallback.used');
    const ui = happen.createNode('ui');
    const sends: Array<ReturnType<typeof ui.send>> = [];
    for (let i = 0; i < 3; i++) {
      const sent = ui.send('primary', { type: 'quote', payload: 'ACME' });
      sends.push(sent);
      equal(await sent.return(), 'backup quote for ACME (via primary)');
    }
    await happen.settled();
    equal(primaryCalls, 2, 'once open, the primary handler is not called');
    equal(breaker.state, 'open');
    deepEqual(seen.map((e) => e.type), ['fallback.used', 'breaker.opened', 'fallback.used', 'fallback.used']);
    const opened = seen.find((e) => e.type === 'breaker.opened')!;
    deepEqual([opened.payload.node, opened.payload.failures, opened.payload.eventType], ['primary', 2, 'quote']);
    equal(seen[3]!.payload.error.code, 'CIRCUIT_OPEN', 'the third was failed fast, then forwarded');
    const second = happen.trace(sends[1]!.event.id).events;
    ok(second.some((e) => e.type === 'breaker.opened'), 'breaker.opened is in the trace of the event that opened it');
    ok(second.some((e) => e.type === 'quote' && e.context.target === 'backup' && e.context.causal.causationId === sends[1]!.event.id), 'the forwarded event is caused by the original');
    equal(errorEvents(happen).length, 0, 'the fallback answered: nothing failed for the sender');
  });

  test('after resetTimeout the node’s breaker half-opens, and a successful probe closes it', async () => {
    const happen = createHappen();
    let now = 0;
    const breaker = circuitBreaker({ failureThreshold: 1, resetTimeoutMs: 1_000, now: () => now });
    let healthy = false;
    withResilience(happen.createNode('svc'), { breaker }).on('ping', () => {
      if (!healthy) throw boom('SICK');
      return 'pong';
    });
    const seen = monitor(happen, 'breaker.*');
    const ui = happen.createNode('ui');
    isHappenError(await rejects(ui.send('svc', { type: 'ping' }).return()), 'runtime', 'SICK');
    isHappenError(await rejects(ui.send('svc', { type: 'ping' }).return()), 'runtime', 'CIRCUIT_OPEN');
    healthy = true;
    now = 1_000;
    equal(breaker.state, 'half-open', 'due to half-open (looking does not take the change from the next event)');
    equal(await ui.send('svc', { type: 'ping' }).return(), 'pong');
    await happen.settled();
    deepEqual(seen.map((e) => e.type), ['breaker.opened', 'breaker.half-opened', 'breaker.closed']);
    deepEqual(seen.map((e) => e.payload.node), ['svc', 'svc', 'svc']);
    equal(breaker.state, 'closed');
  });

  test('a node bulkhead rejects handling beyond its limit with BULKHEAD_FULL and a bulkhead.rejected event', async () => {
    const happen = createHappen();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    withResilience(happen.createNode('db'), { bulkhead: { maxConcurrent: 1 } }).on('query', async () => {
      await held;
      return 'rows';
    });
    const rejected = monitor(happen, 'bulkhead.rejected');
    const ui = happen.createNode('ui');
    const first = ui.send('db', { type: 'query' }).return();
    const second = ui.send('db', { type: 'query' }).return();
    isHappenError(await rejects(second), 'runtime', 'BULKHEAD_FULL');
    release();
    equal(await first, 'rows');
    await happen.settled();
    deepEqual(rejected.map((e) => [e.payload.node, e.payload.running, e.payload.maxConcurrent]), [['db', 1, 1]]);
  });

  test('types limits which events it applies to; happen.* and its own events are left alone by default', async () => {
    const happen = createHappen();
    const calls: Record<string, number> = {};
    const node = happen.createNode('n').use(resilience({ retry: { attempts: 3, initialMs: 1 }, types: ['job.*'] }));
    for (const type of ['job.run', 'other']) {
      node.on(type, () => {
        calls[type] = (calls[type] ?? 0) + 1;
        throw boom();
      });
    }
    const ui = happen.createNode('ui');
    await rejects(ui.send('n', { type: 'job.run' }).return());
    await rejects(ui.send('n', { type: 'other' }).return());
    deepEqual(calls, { 'job.run': 3, other: 1 });
    let errorsSeen = 0;
    const watcher = happen.createNode('watcher').use(resilience({ retry: { attempts: 3, initialMs: 1 } }));
    watcher.on(ERROR_EVENT, () => {
      errorsSeen++;
      throw boom('WATCHER');
    });
    watcher.send('n', { type: 'other' });
    await happen.settled();
    equal(errorsSeen, 1, 'a happen.error event is not retried');
  });

  test('bad middleware config fails with INVALID_CONFIG; a node that is its own fallback fails the event, not the node', async () => {
    const bad: Array<[string, () => unknown]> = [
      ['not an object', () => resilience(null as never)],
      ['unknown key', () => resilience({ retries: 3 } as never)],
      ['bad retry', () => resilience({ retry: { attempts: 0 } })],
      ['bad timeout', () => resilience({ timeout: -1 })],
      ['bad breaker', () => resilience({ breaker: { failureThreshold: 'five' as never } })],
      ['bad bulkhead', () => resilience({ bulkhead: { maxConcurrent: 0 } })],
      ['empty fallback', () => resilience({ fallback: '' })],
      ['no types', () => resilience({ types: [] })],
      ['bad type pattern', () => resilience({ types: [''] })],
    ];
    for (const [name, make] of bad) isHappenError(throws(make, `${name} should throw`), 'validation', 'INVALID_CONFIG');
    const happen = createHappen();
    const loop = withResilience(happen.createNode('loop'), { fallback: 'loop' });
    loop.on('x', () => {
      throw boom();
    });
    loop.on('y', () => 'fine');
    const ui = happen.createNode('ui');
    isHappenError(await rejects(ui.send('loop', { type: 'x' }).return()), 'validation', 'INVALID_CONFIG');
    equal(await ui.send('loop', { type: 'y' }).return(), 'fine', 'the node keeps working');
  });
});

describe('resilience: resilientSend', () => {
  test('a send to a missing node is retried, then falls back to the alternate node', async () => {
    const happen = createHappen();
    happen.createNode('backup').on('lookup', (e) => ({ from: 'backup', key: e.payload }));
    const retries = monitor(happen, 'retry.attempt', 'fallback.used');
    const ui = happen.createNode('ui');
    const result = await resilientSend(ui, 'ghost', { type: 'lookup', payload: 'k' }, { retry: { attempts: 2, initialMs: 1 }, fallback: 'backup' });
    deepEqual(result, { from: 'backup', key: 'k' });
    await happen.settled();
    deepEqual(retries.map((e) => [e.type, e.payload.node, e.payload.target, e.payload.error.code]), [
      ['retry.attempt', 'ui', 'ghost', 'NO_SUCH_NODE'],
      ['fallback.used', 'ui', 'ghost', 'NO_SUCH_NODE'],
    ]);
    const error = await rejects(resilientSend(ui, 'ghost', { type: 'lookup' }, { retry: { attempts: 2, initialMs: 1 } }));
    isHappenError(error, 'runtime', 'NO_SUCH_NODE');
  });

  test('breakers are shared across calls, one per target: a dead target opens its breaker and is then skipped', async () => {
    const happen = createHappen();
    happen.createNode('db').on('q', () => 'db rows');
    happen.createNode('replica').on('q', () => 'replica rows');
    const ui = happen.createNode('ui');
    const breakers = breakerRegistry({ failureThreshold: 2, resetTimeoutMs: 60_000 });
    const opened = monitor(happen, 'breaker.opened');
    const sentToGhost = () => happen.events().filter((e) => e.type === 'q' && e.context.target === 'ghost').length;
    for (let i = 0; i < 2; i++) isHappenError(await rejects(resilientSend(ui, 'ghost', { type: 'q' }, { breaker: breakers })), 'runtime', 'NO_SUCH_NODE');
    equal(breakers.get('ghost').state, 'open');
    isHappenError(await rejects(resilientSend(ui, 'ghost', { type: 'q' }, { breaker: breakers })), 'runtime', 'CIRCUIT_OPEN');
    equal(sentToGhost(), 2, 'the open breaker failed the third call fast, without sending');
    equal(await resilientSend(ui, 'ghost', { type: 'q' }, { breaker: breakers, fallback: 'replica' }), 'replica rows');
    equal(await resilientSend(ui, 'db', { type: 'q' }, { breaker: breakers }), 'db rows', 'another target has its own breaker');
    equal(breakers.get('db').state, 'closed');
    await happen.settled();
    deepEqual(opened.map((e) => [e.payload.node, e.payload.target, e.payload.failures]), [['ui', 'ghost', 2]]);
  });

  test('each attempt waits for its reply with the timeout; sent from a handler’s ctx, every attempt is in its causal web', async () => {
    const happen = createHappen();
    let calls = 0;
    happen.createNode('slow').on('q', async () => {
      calls++;
      await sleep(calls === 1 ? 60 : 1);
      return `answer ${calls}`;
    });
    const agent = happen.createNode('agent');
    agent.on('report', (_e, ctx) => resilientSend(ctx, 'slow', { type: 'q' }, { timeout: 20, retry: { attempts: 2, initialMs: 1 } }));
    const sent = happen.createNode('ui').send('agent', { type: 'report' });
    equal(await sent.return(), 'answer 2', 'the first attempt timed out, the second answered');
    await happen.settled();
    const attempts = happen.trace(sent.event.id).events.filter((e) => e.type === 'q');
    equal(attempts.length, 2);
    ok(attempts.every((e) => e.context.causal.causationId === sent.event.id), 'both attempts are caused by the report event');
    const retry = happen.trace(sent.event.id).events.find((e) => e.type === 'retry.attempt');
    equal(retry?.payload.error.code, 'TIMEOUT');
  });

  test('aborting a resilientSend stops it with ABORTED; events: false sends no policy events', async () => {
    const happen = createHappen();
    happen.createNode('never').on('q', () => undefined);
    const ui = happen.createNode('ui');
    const controller = new AbortController();
    const pending = resilientSend(ui, 'ghost', { type: 'q' }, { retry: { attempts: 5, initialMs: 5_000 }, signal: controller.signal, events: false });
    await sleep(5);
    controller.abort();
    isHappenError(await rejects(pending), 'runtime', 'ABORTED');
    await happen.settled();
    equal(happen.events().filter((e) => e.type === 'retry.attempt').length, 0);
  });

  test('bad input and config reject with typed errors, without sending or retrying', async () => {
    const happen = createHappen();
    let calls = 0;
    happen.createNode('db').on('q', () => ++calls);
    const ui = happen.createNode('ui');
    const bad: Array<[string, Parameters<typeof resilientSend>[3]]> = [
      ['breaker options instead of a shared breaker', { breaker: { failureThreshold: 2 } as never }],
      ['bulkhead options instead of a shared bulkhead', { bulkhead: { maxConcurrent: 1 } as never }],
      ['its own fallback', { fallback: 'db' }],
      ['empty fallback', { fallback: '' }],
      ['zero timeout', { timeout: 0 }],
      ['unknown key', { retries: 2 } as never],
      ['bad retry', { retry: { jitter: -1 } }],
      ['bad signal', { signal: 'stop' as never }],
      ['bad events flag', { events: 'yes' as never }],
    ];
    for (const [name, config] of bad) isHappenError(await rejects(resilientSend(ui, 'db', { type: 'q' }, config), name), 'validation', 'INVALID_CONFIG');
    isHappenError(await rejects(resilientSend({} as never, 'db', { type: 'q' })), 'validation', 'INVALID_CONFIG');
    isHappenError(await rejects(resilientSend(ui, '', { type: 'q' })), 'validation', 'INVALID_TARGET');
    isHappenError(await rejects(resilientSend(ui, 'db', { type: 'bad type' }, { retry: { attempts: 3, initialMs: 1 } })), 'validation', 'INVALID_EVENT_TYPE');
    equal(calls, 0, 'nothing reached the target');
    equal(await resilientSend(ui, 'db', { type: 'q' }), 1, 'with no policies it is a plain send');
  });
});
