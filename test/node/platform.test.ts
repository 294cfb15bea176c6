import { expect, test } from 'vitest';
import { capabilities, detectRuntime } from '../../src/platform/index.ts';

test('[node] platform › detectRuntime() reports node', async () => {
  expect(detectRuntime()).toBe('node');
  const caps = await capabilities();
  expect(caps).toMatchObject({ runtime: 'node', fetch: true, indexedDB: false });
  // Node 20 ships Ed25519 in Web Crypto; the probe must find it.
  expect(caps.webCryptoEd25519).toBe(true);
});
