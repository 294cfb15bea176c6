/** `npm run bench`: every scenario, each against its baselines measured in the same run. */
import { runInChromium } from './browser.ts';
import { runInWorkerd } from './edge.ts';
import { dispatchScenarios } from './dispatch.ts';
import { report, runScenario, type ScenarioResult } from './harness.ts';
import { securityScenarios } from './security.ts';
import { codecScenarios, codecSizes } from './codec.ts';
import { runHubBench } from './hub.ts';
import { batchingScenarios } from './batching.ts';
import { reportObserve, runObserveBench } from './observe.ts';

console.log('# Node');
const results: ScenarioResult[] = [];
for (const build of [...dispatchScenarios, ...(await securityScenarios())]) results.push(await runScenario(build()));
report(results);

console.log('\n# Wire codec (Node)');
const codecResults: ScenarioResult[] = [];
for (const build of codecScenarios) codecResults.push(await runScenario(build()));
report(codecResults);
console.log(`  event frame size: msgpack ${codecSizes.msgpack} B (compact), msgpack maps ${codecSizes.maps} B, JSON ${codecSizes.json} B (compact ÷ JSON ${(codecSizes.msgpack / codecSizes.json).toFixed(2)}×, ÷ maps ${(codecSizes.msgpack / codecSizes.maps).toFixed(2)}×)`);

console.log('\n# The hub (Node)');
await runHubBench();

console.log('\n# Event batching (Node): a gather delay on mesh frames and event-log writes vs none');
const batching = await batchingScenarios();
try {
  const batchingResults: ScenarioResult[] = [];
  for (const scenario of batching.scenarios) batchingResults.push(await runScenario(scenario));
  report(batchingResults);
} finally {
  await batching.close();
}

console.log('\n# Observability (Node, esbuild bundle): metrics and tracing at 10% sampling vs off, per event');
const observeResults = await runObserveBench();
report(observeResults);
reportObserve(observeResults);

console.log('\n# Chromium (dispatch scenarios in a page)');
const browserResults = await runInChromium();
if (browserResults) report(browserResults);
else console.log('  skipped: no Chromium at /usr/bin/chromium (set CHROMIUM_PATH)');

console.log('\n# Chromium (a round trip over BroadcastChannel)');
const busResults = await runInChromium('bus-browser-entry.ts', 'runBusBench');
if (busResults) report(busResults);
else console.log('  skipped: no Chromium at /usr/bin/chromium (set CHROMIUM_PATH)');

console.log('\n# Chromium (the IndexedDB event log)');
const storageResults = await runInChromium('storage-browser-entry.ts', 'runStorageBench');
if (storageResults) report(storageResults);
else console.log('  skipped: no Chromium at /usr/bin/chromium (set CHROMIUM_PATH)');

console.log('\n# Chromium (durable emits through the IndexedDB outbox vs fire-and-forget, to a worker)');
const durableResults = await runInChromium('durable-browser-entry.ts', 'runDurableBench', 'durable-browser-worker.ts');
if (durableResults) {
  report(durableResults);
  for (const result of durableResults) {
    const [ratio] = Object.values(result.ratios); // time per emit: durable ÷ fire-and-forget
    const speed = 1 / ratio!;
    console.log(`  ${result.scenario.split(', until ')[1]}: durable emits/s ÷ fire-and-forget emits/s = ${speed.toFixed(3)} (target ≥ 0.5: ${speed >= 0.5 ? 'met' : 'NOT met'})`);
    const ns = Object.values(result.nsPerOp);
    const floor = Object.entries(result.nsPerOp).find(([name]) => name.startsWith('bare IndexedDB'))?.[1];
    if (floor) console.log(`    the bare IndexedDB commit per batch alone: ${(ns[1]! / floor).toFixed(3)} × the fire-and-forget emits/s (the most any durable emit can reach)`);
  }
} else console.log('  skipped: no Chromium at /usr/bin/chromium (set CHROMIUM_PATH)');

console.log('\n# workerd (the Durable Object storage event log)');
report(await runInWorkerd());
