/** `node --import tsx bench/storage-run.ts`: only the storage scenarios (Chromium, then workerd). */
import { runInChromium } from './browser.ts';
import { runInWorkerd } from './edge.ts';
import { report } from './harness.ts';

const which = process.argv[2] ?? 'all';
if (which !== 'edge') {
  console.log('# Chromium (the IndexedDB event log)');
  const results = await runInChromium('storage-browser-entry.ts', 'runStorageBench');
  if (results) report(results);
  else console.log('  skipped: no Chromium at /usr/bin/chromium (set CHROMIUM_PATH)');
}
if (which !== 'browser') {
  console.log('\n# workerd (the Durable Object storage event log)');
  report(await runInWorkerd());
}
