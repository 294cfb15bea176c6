/**
 * The runtime-neutral conformance suite, run unchanged under `deno test`: each registered test
 * becomes one Deno test (so the reporter names each), plus Deno's platform check.
 */
import { capabilities, detectRuntime } from '../../src/platform/index.ts';
import { conformanceTests } from '../conformance/index.ts';
import { adapterSuite } from '../conformance/storage-adapter.ts';
import { persistenceSuite } from '../conformance/persistence.ts';
import { openDenoKvStorage } from '../../src/storage/deno-kv.ts';

/** Same per-test limit as the harness uses elsewhere, so one hung test fails alone instead of the run. */
const TIMEOUT_MS = 10_000;
/** Deno 2.8+ turned the op/resource sanitizers off by default; opt in so a leaked timer or socket fails its test. */
const SANITIZE = { sanitizeOps: true, sanitizeResources: true } as const;

// Each store is its own in-memory KV (closed with the store), under a prefix so stripping it is covered too.
adapterSuite('deno-kv', () => openDenoKvStorage(':memory:', { prefix: 'suite/' }));
persistenceSuite('deno-kv', () => openDenoKvStorage(':memory:', { prefix: 'suite/' }));

// No timer warm-up on purpose: under `deno test` the first setTimeout() drains pending microtasks,
// which once made send().return() miss its reply; running cold keeps that regression covered.
for (const t of conformanceTests()) Deno.test({ name: t.name, ...SANITIZE, fn: () => withTimeout(t.fn, t.name) });

Deno.test({
  name: 'platform › detectRuntime() reports deno',
  ...SANITIZE,
  async fn() {
    const detected = detectRuntime();
    const caps = await capabilities();
    if (detected !== 'deno' || caps.runtime !== 'deno' || !caps.fetch) {
      throw new Error(`detected ${detected}, capabilities ${JSON.stringify(caps)}`);
    }
  },
});

function withTimeout(fn: () => void | Promise<void>, name: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Test "${name}" timed out after ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  return Promise.race([Promise.resolve().then(fn), timeout]).finally(() => clearTimeout(timer));
}
