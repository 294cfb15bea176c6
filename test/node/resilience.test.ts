import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { HappenError } from '../../src/index.ts';
import { bulkhead, circuitBreaker, type BreakerState } from '../../src/resilience/index.ts';

type Outcome = 'ok' | 'fail' | 'fault';
type Op = { kind: 'call'; outcome: Outcome } | { kind: 'advance'; ms: number };

const outcome = fc.constantFrom<Outcome>('ok', 'fail', 'fault');
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: outcome.map((o) => ({ kind: 'call' as const, outcome: o })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 150 }).map((ms) => ({ kind: 'advance' as const, ms })) },
);
const breakerConfig = fc.record({
  failureThreshold: fc.integer({ min: 1, max: 4 }),
  resetTimeoutMs: fc.integer({ min: 0, max: 200 }),
  halfOpenProbes: fc.integer({ min: 1, max: 3 }),
  extraSuccesses: fc.integer({ min: 0, max: 2 }),
});

const fail = (o: Outcome) => (o === 'fault' ? new HappenError('validation', 'BAD', 'caller fault') : new HappenError('runtime', 'DOWN', 'down'));

// The breaker's rules written the obvious way, for one call at a time.
class ReferenceBreaker {
  state: BreakerState = 'closed';
  failures = 0;
  successes = 0;
  openedAt = 0;
  constructor(private readonly c: { failureThreshold: number; resetTimeoutMs: number; successThreshold: number }) {}

  /** The state as seen at `now`: open turns half-open once the reset timeout has passed. */
  look(now: number): BreakerState {
    if (this.state === 'open' && now - this.openedAt >= this.c.resetTimeoutMs) {
      this.state = 'half-open';
      this.successes = 0;
    }
    return this.state;
  }

  /** Returns whether the work ran. */
  call(o: Outcome, now: number): boolean {
    if (this.look(now) === 'open') return false;
    if (o === 'fault') return true;
    if (o === 'fail') {
      this.failures++;
      if (this.state === 'half-open' || this.failures >= this.c.failureThreshold) {
        this.state = 'open';
        this.openedAt = now;
      }
    } else if (this.state === 'closed') this.failures = 0;
    else if (++this.successes >= this.c.successThreshold) {
      this.state = 'closed';
      this.failures = 0;
    }
    return true;
  }
}

describe('[node] resilience properties', () => {
  test('one call at a time, the breaker agrees with the reference rules on every step', async () => {
    await fc.assert(
      fc.asyncProperty(breakerConfig, fc.array(op, { maxLength: 60 }), async (cfg, ops) => {
        let now = 0;
        const successThreshold = cfg.halfOpenProbes + cfg.extraSuccesses;
        const options = { failureThreshold: cfg.failureThreshold, resetTimeoutMs: cfg.resetTimeoutMs, halfOpenProbes: cfg.halfOpenProbes, successThreshold };
        const breaker = circuitBreaker({ ...options, now: () => now });
        const reference = new ReferenceBreaker({ ...options });
        for (const step of ops) {
          if (step.kind === 'advance') {
            now += step.ms;
            continue;
          }
          let ran = false;
          const work = () => {
            ran = true;
            return step.outcome === 'ok' ? 'ok' : Promise.reject(fail(step.outcome));
          };
          const result = await breaker.execute(work).then(
            () => 'ok',
            (e: HappenError) => e.code,
          );
          const expectedRan = reference.call(step.outcome, now);
          expect(ran).toBe(expectedRan);
          if (!expectedRan) expect(result).toBe('CIRCUIT_OPEN');
          expect(breaker.failures).toBe(reference.failures);
          expect(breaker.state).toBe(reference.look(now));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('half-open under a burst: exactly min(burst, probes) run, the rest fail fast; settle order decides the end state', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
        async (probes, extra, burst, succeeds, order) => {
          let now = 0;
          const successThreshold = probes + extra;
          const breaker = circuitBreaker({ failureThreshold: 1, resetTimeoutMs: 10, halfOpenProbes: probes, successThreshold, now: () => now });
          await breaker.execute(() => Promise.reject(fail('fail'))).catch(() => undefined);
          now = 10;
          const settle: Array<(ok: boolean) => void> = [];
          const calls = Array.from({ length: burst }, () =>
            breaker
              .execute(() => new Promise((resolve, reject) => settle.push((ok) => (ok ? resolve('ok') : reject(fail('fail'))))))
              .then(() => 'ok', (e: HappenError) => e.code),
          );
          const admitted = Math.min(burst, probes);
          expect(settle.length).toBe(admitted);
          // Settle the probes in a random order, predicting the state as the rules say.
          const sequence = settle.map((s, i) => ({ s, ok: succeeds[i]!, key: order[i]! })).sort((a, b) => a.key - b.key);
          let expected: BreakerState = 'half-open';
          let successes = 0;
          for (const { s, ok } of sequence) {
            s(ok); // the breaker sees outcomes in the order they settle
            if (expected !== 'half-open') continue; // a probe from a finished half-open period no longer counts
            if (!ok) expected = 'open';
            else if (++successes >= successThreshold) expected = 'closed';
          }
          const results = await Promise.all(calls);
          expect(results.filter((r) => r === 'CIRCUIT_OPEN').length).toBe(burst - admitted);
          expect(breaker.state).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a bulkhead rejects exactly the calls beyond maxConcurrent + maxQueue and starts the rest in arrival order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
        async (maxConcurrent, maxQueue, count, order) => {
          const limit = bulkhead({ maxConcurrent, maxQueue });
          const started: number[] = [];
          const finish = new Map<number, () => void>();
          let peak = 0;
          const calls = Array.from({ length: count }, (_, i) =>
            limit
              .execute(() => {
                started.push(i);
                peak = Math.max(peak, limit.running);
                return new Promise<number>((resolve) => finish.set(i, () => resolve(i)));
              })
              .then((v) => v, (e: HappenError) => e.code),
          );
          const accepted = Math.min(count, maxConcurrent + maxQueue);
          // Finish running calls in a random order until every accepted call has run.
          for (let round = 0; finish.size > 0; round++) {
            const running = [...finish.keys()];
            const pick = running[order[round % order.length]! % running.length]!;
            const done = finish.get(pick)!;
            finish.delete(pick);
            done();
            await new Promise((r) => setTimeout(r, 0));
          }
          const results = await Promise.all(calls);
          expect(results.filter((r) => r === 'BULKHEAD_FULL').length).toBe(count - accepted);
          expect(results.slice(accepted).every((r) => r === 'BULKHEAD_FULL')).toBe(true);
          expect(started).toEqual(Array.from({ length: accepted }, (_, i) => i));
          expect(peak).toBeLessThanOrEqual(maxConcurrent);
          expect(limit.running + limit.queued).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
