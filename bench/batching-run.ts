/** `node --import tsx bench/batching-run.ts`: only the event-batching scenarios (Node). */
import { batchingScenarios } from './batching.ts';
import { report, runScenario } from './harness.ts';

console.log('# Event batching (Node)');
const { scenarios, close } = await batchingScenarios();
try {
  const results = [];
  for (const scenario of scenarios) results.push(await runScenario(scenario));
  report(results);
} finally {
  await close();
}
