/**
 * Workflows in Chromium: a tab whose workflow (IndexedDB storage) sleeps is reloaded mid-sleep; the
 * new page's workflow resumes it and completes after the remaining time, each step run once. Each
 * test gets a fresh browser context from the runner and throws to fail; it returns a note.
 */
const equal = (actual, expected, what) => {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
};
const check = (condition, what) => {
  if (!condition) throw new Error(what);
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function load(page, origin) {
  await page.goto(`${origin}/workflow.html`);
  await page.waitForFunction(() => window.workflowTab || window.workflowLoadError, null, { timeout: 30_000 });
  const error = await page.evaluate(() => window.workflowLoadError);
  if (error) throw new Error(`workflow.js failed to load: ${error}`);
  return { call: (name, ...args) => page.evaluate(([n, a]) => window.workflowTab[n](...a), [name, args]) };
}

async function until(tab, id, status, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const instance = await tab.call('instance', id);
    if (instance?.status === status) return instance;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${status}: ${JSON.stringify(instance)}`);
    await sleep(10);
  }
}

// Long enough that the reload lands mid-sleep even on a loaded machine (the browser tests run side by side).
const SLEEP_MS = 4_000;

export const workflowTests = [
  {
    name: 'workflow › a sleeping workflow on IndexedDB survives a page reload: the new page resumes it, it completes after the remaining time, each step once',
    timeoutMs: 30_000,
    async run(page, origin) {
      let tab = await load(page, origin);
      await tab.call('start', 'trip', SLEEP_MS);
      const asleep = await until(tab, 'trip', 'sleeping');
      equal(asleep.currentStep, 'nap', 'the step it sleeps in');
      await sleep(300);
      const before = await tab.call('instance', 'trip');
      equal(before.status, 'sleeping', 'status just before the reload');
      const reloadedAt = Date.now();
      await page.reload();
      tab = await load(page, origin);
      await tab.call('ready');
      const resumed = await tab.call('instance', 'trip');
      // A slow load may take the rest of the sleep; otherwise it still sleeps, until the stored time.
      if (resumed.status === 'sleeping') equal(resumed.wakeAt, asleep.wakeAt, 'the stored wake time after the reload');
      await tab.call('result', 'trip');
      const done = await tab.call('instance', 'trip');
      equal(done.status, 'completed', 'status');
      equal(done.history.map((h) => `${h.step}:${h.status}`).join(' '), 'before:completed nap:completed after:completed', 'history');
      const counts = await tab.call('counts');
      equal(counts.before, 1, 'runs of the first step');
      equal(counts.after, 1, 'runs of the last step');
      check(counts.afterAt >= asleep.wakeAt, `woke at or after the wake time (${counts.afterAt - asleep.wakeAt} ms)`);
      check(counts.afterAt > reloadedAt, 'the new page ran the last step');
      check(counts.afterAt < reloadedAt + SLEEP_MS, `slept only the remainder after the reload (${counts.afterAt - reloadedAt} ms after it)`);
      return `reloaded ${reloadedAt - (asleep.wakeAt - SLEEP_MS)} ms into the sleep; woke ${counts.afterAt - asleep.wakeAt} ms after the wake time`;
    },
  },
];
