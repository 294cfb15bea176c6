/**
 * What every non-Node runner bundles: the whole conformance suite plus one runtime check (that
 * platform detection names the runtime the runner put it in). `runSuite` never throws: each test's
 * failure is reported in its result.
 */
import { capabilities, detectRuntime, type RuntimeHints, type RuntimeKind } from '../../src/platform/index.ts';
import { runConformance, type ConformanceResult } from './index.ts';

export type { ConformanceResult };

/** Runs the suite (tests whose name includes `filter`) and the platform check for `expected`. */
export async function runSuite(expected: RuntimeKind, options: { filter?: string; hints?: RuntimeHints } = {}): Promise<ConformanceResult[]> {
  const results = await runConformance(options.filter);
  const name = `platform › detectRuntime() reports ${expected}`;
  if (!options.filter || name.includes(options.filter)) {
    const started = Date.now();
    const detected = detectRuntime(options.hints);
    const caps = await capabilities(options.hints);
    const ok = detected === expected && caps.runtime === expected && caps.fetch;
    results.push({ name, ok, ms: Date.now() - started, ...(ok ? {} : { error: `detected ${detected}, capabilities ${JSON.stringify(caps)}` }) });
  }
  return results;
}
