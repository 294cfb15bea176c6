import { HappenError } from '../../src/index.ts';
import {
  breakerRegistry,
  bulkhead,
  circuitBreaker,
  fallback,
  retry,
  timeout,
  wrap,
  type BreakerChange,
  type ResilienceEvent,
} from '../../src/resilience/index.ts';
import { deepEqual, equal, isHappenError, ok, rejects, sleep, throws } from './assert.ts';
import { describe, test } from './harness.ts';

const boom = (code = 'BOOM') => new HappenError('runtime', code, 'it broke');

/** A promise with its resolve/reject exposed, to hold work open until the test lets it finish. */
function gate<T = unknown>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Work that fails `failures` times, then returns 'ok'; counts its calls. */
function flaky(failures: number) {
  const work = Object.assign(
    () => {
      work.calls++;
      if (work.calls <= failures) throw boom();
      return 'ok';
    },
    { calls: 0 },
  );
  return work;
}

function events(): { list: ResilienceEvent[]; observe: (e: ResilienceEvent) => void } {
  const list: ResilienceEvent[] = [];
  return { list, observe: (e) => void list.push(e) };
}

describe('resilience policies', () => {
  test('retry: retries until success, with growing delays (attempt count, delays, elapsed time)', async () => {
    const work = flaky(3);
    const seen = events();
    const started = Date.now();
    equal(await retry({ attempts: 4, initialMs: 5, factor: 2, jitter: 0 }).execute(work, seen), 'ok');
    const elapsed = Date.now() - started;
    equal(work.calls, 4, 'attempts made');
    deepEqual(seen.list.map((e) => [e.type, e.data.attempt, e.data.delayMs]), [
      ['retry.attempt', 2, 5],
      ['retry.attempt', 3, 10],
      ['retry.attempt', 4, 20],
    ]);
    equal((seen.list[0]!.data.error as { code: string }).code, 'BOOM', 'the event carries the failure');
    ok(elapsed >= 30, `the backoff was waited (${elapsed} ms)`);
  });

  test('retry: once exhausted it rejects with the last error after exactly `attempts` tries', async () => {
    let calls = 0;
    const last = boom('LAST');
    const error = await rejects(
      retry({ attempts: 3, initialMs: 1 }).execute(() => {
        calls++;
        throw calls === 3 ? last : boom();
      }),
    );
    equal(error, last, 'the last attempt’s own error');
    equal(calls, 3);
    equal(retry().attempts, 3, 'default attempts');
  });

  test('retry: delays are capped by maxMs and jitter stays within ±jitter of the base', async () => {
    const delays = async (random: () => number) => {
      const seen = events();
      await rejects(retry({ attempts: 4, initialMs: 4, factor: 3, maxMs: 20, jitter: 0.5, random }).execute(() => Promise.reject(boom()), seen));
      return seen.list.map((e) => e.data.delayMs);
    };
    deepEqual(await delays(() => 0), [2, 6, 10], 'random 0: base × (1 − jitter), the last capped at maxMs');
    deepEqual(await delays(() => 0.999999), [6, 18, 30], 'random → 1: base × (1 + jitter)');
    for (let i = 0; i < 5; i++) {
      const [a, b, c] = (await delays(Math.random)) as number[];
      ok(a! >= 2 && a! <= 6 && b! >= 6 && b! <= 18 && c! >= 10 && c! <= 30, `within bounds: ${a}, ${b}, ${c}`);
    }
  });

  test('retry: retryOn decides, with the attempt number; validation and security errors are not retried by default', async () => {
    const asked: Array<[string, number]> = [];
    let calls = 0;
    const policy = retry({
      attempts: 5,
      initialMs: 1,
      retryOn: (error, attempt) => (asked.push([error.code, attempt]), error.code === 'TRANSIENT'),
    });
    await rejects(policy.execute(() => (++calls < 3 ? Promise.reject(boom('TRANSIENT')) : Promise.reject(boom('FATAL')))));
    equal(calls, 3, 'stopped at the failure retryOn declined');
    deepEqual(asked, [['TRANSIENT', 1], ['TRANSIENT', 2], ['FATAL', 3]]);
    for (const category of ['validation', 'security'] as const) {
      let n = 0;
      const error = await rejects(retry({ attempts: 3, initialMs: 1 }).execute(() => (n++, Promise.reject(new HappenError(category, 'NOPE', 'no')))));
      isHappenError(error, category, 'NOPE');
      equal(n, 1, `${category} errors are not retried`);
    }
    let plain = 0;
    await rejects(retry({ attempts: 2, initialMs: 1 }).execute(() => (plain++, Promise.reject(new Error('plain')))));
    equal(plain, 2, 'a plain Error counts as a runtime failure and is retried');
  });

  test('retry: aborting the call stops the backoff wait at once', async () => {
    const controller = new AbortController();
    let calls = 0;
    const started = Date.now();
    const pending = retry({ attempts: 5, initialMs: 5_000 }).execute(() => (calls++, Promise.reject(boom())), { signal: controller.signal });
    await sleep(5);
    controller.abort();
    isHappenError(await rejects(pending), 'runtime', 'ABORTED');
    equal(calls, 1, 'no attempt after the abort');
    ok(Date.now() - started < 2_000, 'did not wait out the delay');
  });

  test('timeout: on expiry the work’s signal aborts and the call rejects with TIMEOUT', async () => {
    let signal: AbortSignal | undefined;
    let sawAbort: unknown;
    const seen = events();
    const started = Date.now();
    const error = await rejects(
      timeout(20).execute(
        (s) =>
          new Promise((resolve) => {
            signal = s;
            s.addEventListener('abort', () => ((sawAbort = s.reason), resolve('too late')));
          }),
        seen,
      ),
    );
    isHappenError(error, 'timeout', 'TIMEOUT');
    ok(signal?.aborted, 'the signal was aborted');
    equal(sawAbort, error, 'the abort reason is the TIMEOUT error');
    ok(Date.now() - started >= 15, 'not before its time');
    deepEqual(seen.list, [{ type: 'timeout.expired', data: { timeoutMs: 20 } }]);
    equal(timeout(1_000).ms, 1_000);
  });

  test('timeout: work that finishes in time passes its value or error through; a caller abort passes too', async () => {
    let signal: AbortSignal | undefined;
    equal(await timeout(1_000).execute((s) => ((signal = s), Promise.resolve(7))), 7);
    ok(signal && !signal.aborted, 'not aborted when the work finished in time');
    const own = boom('OWN');
    equal(await rejects(timeout(1_000).execute(() => Promise.reject(own))), own);
    equal(await rejects(timeout(1_000).execute(() => {
      throw own;
    })), own, 'a synchronous throw rejects too');
    const controller = new AbortController();
    const pending = timeout(5_000).execute((s) => new Promise((_, reject) => s.addEventListener('abort', () => reject(s.reason))), { signal: controller.signal });
    controller.abort(boom('CALLER'));
    isHappenError(await rejects(pending), 'runtime', 'CALLER');
  });

  test('breaker: closed → open after N consecutive failures; a success resets the count', async () => {
    const breaker = circuitBreaker({ failureThreshold: 3, resetTimeoutMs: 60_000 });
    const changes: BreakerChange[] = [];
    breaker.onStateChange((c) => void changes.push(c));
    const fail = () => rejects(breaker.execute(() => Promise.reject(boom())));
    await fail();
    await fail();
    equal(breaker.failures, 2);
    equal(await breaker.execute(() => 'fine'), 'fine');
    equal(breaker.failures, 0, 'a success resets the count');
    await fail();
    await fail();
    equal(breaker.state, 'closed', 'two in a row is below the threshold');
    await fail();
    equal(breaker.state, 'open');
    deepEqual(changes, [{ from: 'closed', to: 'open', failures: 3, successes: 0 }]);
  });

  test('breaker: while open, calls fail fast with CIRCUIT_OPEN and the work is not run', async () => {
    let now = 1_000;
    const breaker = circuitBreaker({ failureThreshold: 1, resetTimeoutMs: 500, now: () => now });
    await rejects(breaker.execute(() => Promise.reject(boom())));
    let ran = 0;
    const error = await rejects(breaker.execute(() => void ran++));
    isHappenError(error, 'runtime', 'CIRCUIT_OPEN');
    deepEqual(error.details, { state: 'open', retryInMs: 500 });
    now += 200;
    deepEqual((await rejects(breaker.execute(() => void ran++))).details, { state: 'open', retryInMs: 300 });
    equal(ran, 0);
  });

  test('breaker: half-open after resetTimeout; a probe success closes it, a probe failure reopens it', async () => {
    let now = 0;
    const breaker = circuitBreaker({ failureThreshold: 2, resetTimeoutMs: 1_000, now: () => now });
    const changes: string[] = [];
    breaker.onStateChange((c) => void changes.push(`${c.from}→${c.to}`));
    const seen = events();
    await rejects(breaker.execute(() => Promise.reject(boom())));
    await rejects(breaker.execute(() => Promise.reject(boom())));
    now = 999;
    equal(breaker.state, 'open', 'not before resetTimeoutMs');
    now = 1_000;
    isHappenError(await rejects(breaker.execute(() => Promise.reject(boom()), seen)), 'runtime', 'BOOM');
    equal(breaker.state, 'open', 'the failed probe reopened it');
    deepEqual(seen.list.map((e) => e.type), ['breaker.half-opened', 'breaker.opened']);
    now = 1_500;
    isHappenError(await rejects(breaker.execute(() => 'x')), 'runtime', 'CIRCUIT_OPEN');
    now = 2_000;
    equal(breaker.state, 'half-open');
    equal(await breaker.execute(() => 'probe', seen), 'probe');
    equal(breaker.state, 'closed');
    equal(breaker.failures, 0);
    deepEqual(changes, ['closed→open', 'open→half-open', 'half-open→open', 'open→half-open', 'half-open→closed']);
    deepEqual(seen.list.at(-1), { type: 'breaker.closed', data: { from: 'half-open', failures: 3, successes: 1 } });
  });

  test('breaker: under 10 concurrent calls half-open admits exactly N probes; the rest fail fast; N successes close it', async () => {
    for (const probes of [1, 3]) {
      let now = 0;
      const breaker = circuitBreaker({ failureThreshold: 1, resetTimeoutMs: 100, halfOpenProbes: probes, now: () => now });
      await rejects(breaker.execute(() => Promise.reject(boom())));
      now = 100;
      const held = gate<string>();
      let running = 0;
      const calls = Array.from({ length: 10 }, () => breaker.execute(() => (running++, held.promise)).then((v) => ({ ok: v }), (e: HappenError) => ({ err: e.code })));
      await sleep(1);
      equal(running, probes, `exactly ${probes} probe(s) ran`);
      equal(breaker.state, 'half-open', 'still half-open while the probes run');
      held.resolve('probed');
      const outcomes = await Promise.all(calls);
      equal(outcomes.filter((o) => 'ok' in o).length, probes);
      equal(outcomes.filter((o) => 'err' in o && o.err === 'CIRCUIT_OPEN').length, 10 - probes);
      equal(breaker.state, 'closed', 'the probes’ successes closed it');
    }
  });

  test('breaker: successThreshold above halfOpenProbes admits probes one batch at a time until it closes', async () => {
    let now = 0;
    const breaker = circuitBreaker({ failureThreshold: 1, resetTimeoutMs: 10, halfOpenProbes: 1, successThreshold: 2, now: () => now });
    await rejects(breaker.execute(() => Promise.reject(boom())));
    now = 10;
    equal(await breaker.execute(() => 1), 1);
    equal(breaker.state, 'half-open', 'one success of two');
    equal(await breaker.execute(() => 2), 2);
    equal(breaker.state, 'closed');
  });

  test('breaker: calls started before a change cannot sway the new state; validation errors do not count', async () => {
    let now = 0;
    const breaker = circuitBreaker({ failureThreshold: 2, resetTimeoutMs: 10, now: () => now });
    const slow = gate();
    const late = breaker.execute(() => slow.promise);
    await rejects(breaker.execute(() => Promise.reject(boom())));
    await rejects(breaker.execute(() => Promise.reject(boom())));
    equal(breaker.state, 'open');
    now = 10;
    equal(breaker.state, 'half-open');
    slow.resolve('late');
    equal(await late, 'late');
    equal(breaker.state, 'half-open', 'a success from the closed period does not close the half-open breaker');

    const probes = circuitBreaker({ failureThreshold: 1, resetTimeoutMs: 10, halfOpenProbes: 2, successThreshold: 1, now: () => now });
    const lateFailure = gate();
    const closedCall = probes.execute(() => lateFailure.promise);
    now = 100;
    await rejects(probes.execute(() => Promise.reject(boom())));
    now = 110;
    const slowProbe = gate();
    const p1 = probes.execute(() => slowProbe.promise);
    await rejects(probes.execute(() => Promise.reject(boom())));
    equal(probes.state, 'open', 'the second probe failed');
    now = 120;
    equal(probes.state, 'half-open', 'a new half-open period');
    slowProbe.resolve('stale');
    lateFailure.reject(boom());
    equal(await p1, 'stale');
    await rejects(closedCall);
    equal(probes.state, 'half-open', 'outcomes of calls from earlier periods do not count');
    const fresh = [gate(), gate()];
    const admitted = [0, 1, 2].map((i) => probes.execute(() => fresh[i]?.promise ?? 'third').catch((e: HappenError) => e.code));
    equal(await admitted[2], 'CIRCUIT_OPEN', 'still exactly 2 probe slots');
    fresh.forEach((g) => g.resolve('fresh'));
    deepEqual(await Promise.all(admitted.slice(0, 2)), ['fresh', 'fresh']);
    equal(probes.state, 'closed');
    const other = circuitBreaker({ failureThreshold: 1 });
    await rejects(other.execute(() => Promise.reject(new HappenError('validation', 'BAD_INPUT', 'caller’s fault'))));
    equal(other.state, 'closed', 'the caller’s bad input says nothing about the target');
  });

  test('breakerRegistry: one shared breaker per key', async () => {
    const registry = breakerRegistry({ failureThreshold: 1 });
    equal(registry.get('a'), registry.get('a'), 'the same breaker on every lookup');
    await rejects(registry.get('a').execute(() => Promise.reject(boom())));
    equal(registry.get('a').state, 'open');
    equal(registry.get('b').state, 'closed', 'keys do not share state');
    deepEqual(registry.keys(), ['a', 'b']);
  });

  test('bulkhead: at most maxConcurrent run, maxQueue wait and start in FIFO order, the rest get BULKHEAD_FULL', async () => {
    const limit = bulkhead({ maxConcurrent: 2, maxQueue: 2 });
    const started: number[] = [];
    const gates = Array.from({ length: 5 }, () => gate<number>());
    const seen = events();
    const calls = gates.map((g, i) => limit.execute(() => (started.push(i), g.promise), seen));
    equal(limit.running, 2);
    equal(limit.queued, 2);
    const rejected = await rejects(calls[4]!);
    isHappenError(rejected, 'runtime', 'BULKHEAD_FULL');
    deepEqual(rejected.details, { running: 2, queued: 2, maxConcurrent: 2, maxQueue: 2 });
    deepEqual(seen.list.map((e) => e.type), ['bulkhead.rejected']);
    deepEqual(started, [0, 1]);
    gates[1]!.resolve(1);
    equal(await calls[1], 1);
    deepEqual(started, [0, 1, 2], 'the oldest waiter got the freed slot');
    const newcomer = limit.execute(() => (started.push(9), 9));
    equal(limit.queued, 2, 'a newcomer queues behind the waiter');
    gates[0]!.resolve(0);
    gates[2]!.resolve(2);
    gates[3]!.resolve(3);
    deepEqual(await Promise.all([calls[0], calls[2], calls[3], newcomer]), [0, 2, 3, 9]);
    deepEqual(started, [0, 1, 2, 3, 9], 'queued calls started in arrival order');
    equal(limit.running, 0);
    equal(limit.queued, 0);
  });

  test('bulkhead: a failure frees its slot; a queued call whose signal aborts leaves the queue', async () => {
    const limit = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const first = gate();
    const running = limit.execute(() => first.promise);
    const controller = new AbortController();
    let ran = false;
    const queued = limit.execute(() => void (ran = true), { signal: controller.signal });
    controller.abort();
    isHappenError(await rejects(queued), 'runtime', 'ABORTED');
    equal(limit.queued, 0);
    first.reject(boom());
    await rejects(running);
    equal(limit.running, 0, 'the failure freed its slot');
    equal(await limit.execute(() => 'next'), 'next');
    equal(ran, false, 'the aborted call never ran');
    isHappenError(await rejects(bulkhead({ maxConcurrent: 1 }).execute(() => 1, { signal: controller.signal })), 'runtime', 'ABORTED');
  });

  test('fallback: answers failures with the alternative, but not caller faults or what `on` declines', async () => {
    const seen = events();
    const policy = fallback((error) => `fallback for ${error.code}`);
    equal(await policy.execute(() => Promise.reject(boom()), seen), 'fallback for BOOM');
    equal(await policy.execute(() => 'fine'), 'fine');
    deepEqual(seen.list.map((e) => [e.type, (e.data.error as { code: string }).code]), [['fallback.used', 'BOOM']]);
    isHappenError(await rejects(policy.execute(() => Promise.reject(new HappenError('validation', 'BAD', 'bad')))), 'validation', 'BAD');
    const picky = fallback(() => 'alt', { on: (e) => e.code === 'SOFT' });
    equal(await picky.execute(() => Promise.reject(boom('SOFT'))), 'alt');
    isHappenError(await rejects(picky.execute(() => Promise.reject(boom('HARD')))), 'runtime', 'HARD');
  });

  test('wrap: composes outermost first, each layer handing its signal inward', async () => {
    const order: string[] = [];
    const trace = (name: string) => ({
      async execute<T>(work: (s: AbortSignal) => T | PromiseLike<T>, options?: { signal?: AbortSignal }) {
        order.push(`${name} in`);
        try {
          return await work(options!.signal!);
        } finally {
          order.push(`${name} out`);
        }
      },
    });
    let signal: AbortSignal | undefined;
    equal(await wrap(trace('a'), trace('b'), timeout(1_000)).execute((s) => ((signal = s), order.push('work'), 1)), 1);
    deepEqual(order, ['a in', 'b in', 'work', 'b out', 'a out']);
    ok(signal instanceof AbortSignal, 'the work got the innermost signal');
    equal(await wrap().execute(() => 'bare'), 'bare', 'no policies: the work runs as is');
  });

  test('wrap: fallback → breaker → retry → timeout work together', async () => {
    let now = 0;
    const breaker = circuitBreaker({ failureThreshold: 2, resetTimeoutMs: 1_000, now: () => now });
    const seen = events();
    const policy = wrap(fallback(() => 'cached'), breaker, retry({ attempts: 2, initialMs: 1 }), timeout(200));
    let calls = 0;
    const failing = () => (calls++, Promise.reject(boom()));
    equal(await policy.execute(failing, seen), 'cached');
    equal(calls, 2, 'retried once');
    equal(breaker.failures, 1, 'one failure per call, after its retries');
    equal(await policy.execute(failing, seen), 'cached');
    equal(breaker.state, 'open');
    equal(await policy.execute(failing, seen), 'cached', 'open: the fallback answers');
    equal(calls, 4, 'and the work was not called');
    deepEqual(seen.list.map((e) => e.type), ['retry.attempt', 'fallback.used', 'retry.attempt', 'breaker.opened', 'fallback.used', 'fallback.used']);
  });

  test('bad policy config fails at once with INVALID_CONFIG', () => {
    const bad: Array<[string, () => unknown]> = [
      ['attempts 0', () => retry({ attempts: 0 })],
      ['attempts 1.5', () => retry({ attempts: 1.5 })],
      ['jitter 2', () => retry({ jitter: 2 })],
      ['factor below 1', () => retry({ factor: 0.5 })],
      ['negative initialMs', () => retry({ initialMs: -1 })],
      ['retryOn not a function', () => retry({ retryOn: 'yes' as never })],
      ['unknown retry option', () => retry({ attempt: 3 } as never)],
      ['retry options not an object', () => retry(5 as never)],
      ['timeout 0', () => timeout(0)],
      ['timeout NaN', () => timeout(Number.NaN)],
      ['timeout string', () => timeout('10' as never)],
      ['failureThreshold 0', () => circuitBreaker({ failureThreshold: 0 })],
      ['halfOpenProbes 0', () => circuitBreaker({ halfOpenProbes: 0 })],
      ['negative resetTimeoutMs', () => circuitBreaker({ resetTimeoutMs: -5 })],
      ['now not a function', () => circuitBreaker({ now: 5 as never })],
      ['unknown breaker option', () => circuitBreaker({ threshold: 5 } as never)],
      ['registry options', () => breakerRegistry({ successThreshold: 0 })],
      ['no maxConcurrent', () => bulkhead({} as never)],
      ['maxConcurrent 0', () => bulkhead({ maxConcurrent: 0 })],
      ['negative maxQueue', () => bulkhead({ maxConcurrent: 1, maxQueue: -1 })],
      ['fallback not a function', () => fallback('plan b' as never)],
      ['fallback on not a function', () => fallback(() => 1, { on: true as never })],
      ['wrap a non-policy', () => wrap({} as never)],
      ['onStateChange non-function', () => circuitBreaker().onStateChange(null as never)],
    ];
    for (const [name, make] of bad) isHappenError(throws(make, `${name} should throw`), 'validation', 'INVALID_CONFIG');
  });
});
