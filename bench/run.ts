/** `npm run bench`: every scenario, each against its baselines measured in the same run. */
import { dispatchScenarios } from './dispatch.ts';
import { securityScenarios } from './security.ts';
import { report, runScenario, type ScenarioResult } from './harness.ts';

const results: ScenarioResult[] = [];
for (const build of [...dispatchScenarios, ...(await securityScenarios())]) results.push(await runScenario(build()));
report(results);
