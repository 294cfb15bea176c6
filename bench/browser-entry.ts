/** Runs the dispatch scenarios inside a Chromium page (bundled and loaded by `bench/browser.ts`). */
import { dispatchScenarios } from './dispatch.ts';
import { runScenario, type ScenarioResult } from './harness.ts';

(globalThis as { runDispatchBench?: () => Promise<ScenarioResult[]> }).runDispatchBench = async () => {
  const results: ScenarioResult[] = [];
  for (const build of dispatchScenarios) results.push(await runScenario(build()));
  return results;
};
