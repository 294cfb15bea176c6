/**
 * Tests that only a browser can run: each gets a fresh browser context and a page that has loaded
 * `/scenarios.html` (which exposes `window.scenarios`). A test throws to fail.
 */
const equal = (actual, expected, what) => {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
};

async function load(page, origin) {
  await page.goto(`${origin}/scenarios.html`);
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
];
