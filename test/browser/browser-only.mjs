/**
 * Tests that only a browser can run: each gets a fresh browser context and a page that has loaded
 * `/scenarios.html` (which exposes `window.scenarios`). A test throws to fail.
 */
const equal = (actual, expected, what) => {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
};

const same = (actual, expected, what) => equal(JSON.stringify(actual), JSON.stringify(expected), what);

async function load(page, origin, path = '/scenarios.html') {
  await page.goto(`${origin}${path}`);
  await page.waitForFunction(() => window.scenarios || window.scenariosLoadError, null, { timeout: 30_000 });
  const error = await page.evaluate(() => window.scenariosLoadError);
  if (error) throw new Error(`scenarios.js failed to load: ${error}`);
}

export const browserOnlyTests = [
  {
    name: 'security › a non-extractable identity in IndexedDB survives a reload and still signs',
    async run(page, origin) {
      await load(page, origin);
      const first = await page.evaluate(() => window.scenarios.signWithStoredIdentity('ids'));
      equal(first.extractable, false, 'private key extractable');
      equal(first.backend, 'webcrypto', 'backend');
      await page.reload();
      await load(page, origin);
      const second = await page.evaluate(() => window.scenarios.signWithStoredIdentity('ids'));
      equal(second.publicKey, first.publicKey, 'public key after reload');
      equal(second.extractable, false, 'still non-extractable after reload');
      const verified = await page.evaluate(({ event, key }) => window.scenarios.verifyWith(event, key), { event: second.event, key: first.publicKey });
      equal(verified, true, 'signature made after the reload verifies with the key from before');
    },
  },
  {
    name: 'security › without IndexedDB the key store fails with runtime/STORAGE_UNAVAILABLE',
    async run(page, origin) {
      await load(page, origin);
      equal(await page.evaluate(() => window.scenarios.unavailableStoreError()), 'runtime/STORAGE_UNAVAILABLE', 'error');
    },
  },
  {
    name: 'storage › an IndexedDB storage written in a page survives a reload',
    async run(page, origin) {
      const entries = [['log/0001', { n: 1, text: 'héllo ✓' }], ['log/0002', [1, 'two', null]], ['meta', 'kept']];
      await load(page, origin);
      await page.evaluate((entries) => window.scenarios.storageWrite('reloaded', entries), entries);
      await page.reload();
      await load(page, origin);
      same(await page.evaluate(() => window.scenarios.storageReadAll('reloaded')), entries, 'entries after reload');
      same(await page.evaluate(() => window.scenarios.storageReadAll('another-name')), [], 'a store of another name');
    },
  },
  {
    name: 'storage › node state, the event log of a node and an event-sourced node survive a reload',
    async run(page, origin) {
      await load(page, origin);
      same(await page.evaluate(() => window.scenarios.nodesWrite('nodes-reload')), { orders: 3, stock: 105 }, 'before the reload');
      await page.reload();
      await load(page, origin);
      const read = await page.evaluate(() => window.scenarios.nodesRead('nodes-reload'));
      same(read.state, { orders: 3 }, 'node state');
      same(read.log, [[1, 'order.placed', 0], [2, 'order.placed', 1], [3, 'order.placed', 2]], 'event log');
      equal(read.stock, 105, 'event-sourced state');
      equal(read.sequence, 3, 'event-sourced sequence');
      same(read.history, [95, 85], 'getStateAt after the reload');
    },
  },
  {
    name: 'storage › without IndexedDB every call rejects with runtime/STORAGE_UNAVAILABLE, and works once it is back',
    async run(page, origin) {
      await load(page, origin);
      const { outcomes, afterRestore } = await page.evaluate(() => window.scenarios.unavailableStorage('missing'));
      same(outcomes, Array(5).fill('runtime/STORAGE_UNAVAILABLE'), 'get, put, delete, list, batch');
      equal(afterRestore, 'restored', 'the same storage after indexedDB is restored');
    },
  },
  {
    name: 'storage › in an opaque origin (sandboxed page: open throws SecurityError) every call rejects with STORAGE_UNAVAILABLE',
    async run(page, origin) {
      await load(page, origin, '/sandboxed.html');
      equal(await page.evaluate(() => window.origin), 'null', 'the sandboxed page has an opaque origin');
      const { outcomes } = await page.evaluate(() => window.scenarios.unavailableStorage('as-is'));
      same(outcomes, Array(5).fill('runtime/STORAGE_UNAVAILABLE'), 'get, put, delete, list, batch');
    },
  },
  {
    name: 'storage › a database already at a newer version (open fails with VersionError) gives STORAGE_UNAVAILABLE',
    async run(page, origin) {
      await load(page, origin);
      const { outcomes } = await page.evaluate(() => window.scenarios.unavailableStorage('newer'));
      same(outcomes, Array(5).fill('runtime/STORAGE_UNAVAILABLE'), 'get, put, delete, list, batch');
    },
  },
  {
    name: 'storage › another tab deleting the database is not blocked; the storage reopens a fresh one',
    async run(page, origin) {
      await load(page, origin);
      same(await page.evaluate(() => window.scenarios.storageYieldsToDelete()), { deleted: 'deleted', afterPut: 'after' }, 'outcome');
    },
  },
  {
    name: 'storage › a value IndexedDB cannot clone fails the whole batch with validation/INVALID_VALUE',
    async run(page, origin) {
      await load(page, origin);
      same(await page.evaluate(() => window.scenarios.storageUncloneable()), { code: 'validation/INVALID_VALUE' }, 'outcome (nothing stored)');
    },
  },
  {
    // A real QuotaExceededError: the DevTools protocol shrinks this origin's quota (estimate() still
    // reports the old figure, but IndexedDB enforces the override when a transaction commits).
    name: 'storage › a write past the origin quota rejects with runtime/STORAGE_FULL and stores nothing',
    async run(page, origin) {
      const cdp = await page.context().newCDPSession(page);
      // Room for 256 KiB more than what earlier tests left on this origin, whatever that is.
      const { usage } = await cdp.send('Storage.getUsageAndQuota', { origin });
      const quotaSize = Math.ceil(usage) + 256 * 1024;
      await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize });
      const { quota, overrideActive } = await cdp.send('Storage.getUsageAndQuota', { origin });
      equal(overrideActive && quota, quotaSize, 'quota override in force');
      await load(page, origin);
      const outcome = await page.evaluate(() => window.scenarios.storageOverQuota(1024 * 1024));
      equal(outcome.code, 'runtime/STORAGE_FULL', `error (${outcome.message})`);
      equal(outcome.cause, 'QuotaExceededError', 'cause');
      equal(outcome.bigStored, false, 'the value over the quota was not stored');
      equal(outcome.small, 1, 'what was stored before is intact');
      // Chromium may keep counting an aborted write against the quota for a while: free room, then write again.
      await cdp.send('Storage.overrideQuotaForOrigin', { origin });
      const after = await page.evaluate((name) => window.scenarios.storageWritesAgain(name), outcome.name);
      equal(after.small, 2, 'writes succeed once there is room');
      equal(after.big, false, 'the refused value never appeared');
    },
  },
];
