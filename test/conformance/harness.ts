/**
 * The conformance suite's runtime-neutral harness: files register tests with `test()`, and each
 * runtime's runner executes the same registry (vitest in Node, playwright in Chromium, miniflare in
 * workerd, `deno test` in Deno). No runtime-specific API is used here.
 */
export interface ConformanceTest {
  /** `file › name`, unique across the suite. */
  name: string;
  fn: () => void | Promise<void>;
}

/** Result of one test, as each runner reports it. */
export interface ConformanceResult {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

const registry: ConformanceTest[] = [];
let group = '';

/** Groups the tests registered by `body` under a name. */
export function describe(name: string, body: () => void): void {
  const outer = group;
  group = outer ? `${outer} › ${name}` : name;
  try {
    body();
  } finally {
    group = outer;
  }
}

/** Registers one conformance test. */
export function test(name: string, fn: () => void | Promise<void>): void {
  const full = group ? `${group} › ${name}` : name;
  if (registry.some((t) => t.name === full)) throw new Error(`Duplicate conformance test name: ${full}`);
  registry.push({ name: full, fn });
}

/** Every registered test, in registration order. */
export function conformanceTests(): readonly ConformanceTest[] {
  return registry;
}

/** Runs every test (optionally those whose name includes `filter`), one at a time, with a timeout each. */
export async function runConformance(filter?: string, timeoutMs = 10_000): Promise<ConformanceResult[]> {
  const results: ConformanceResult[] = [];
  for (const t of registry) {
    if (filter && !t.name.includes(filter)) continue;
    const started = Date.now();
    try {
      await withTimeout(Promise.resolve().then(t.fn), timeoutMs, t.name);
      results.push({ name: t.name, ok: true, ms: Date.now() - started });
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      results.push({ name: t.name, ok: false, ms: Date.now() - started, error: message });
    }
  }
  return results;
}

function withTimeout<T>(promise: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Test "${name}" timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
