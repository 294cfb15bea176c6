/** Bundles the workerd entries (neutral ESM, browser-flavoured package entries, no node: imports) and the hub test's Node client. */
import { build } from 'esbuild';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const WORKERD = {
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  conditions: ['workerd', 'worker', 'browser'],
  external: ['cloudflare:*'],
  target: 'es2022',
  logLevel: 'silent',
};

async function bundle(entry, outDir, name, options) {
  await mkdir(outDir, { recursive: true });
  const outfile = join(outDir, name);
  await build({ ...options, entryPoints: [fileURLToPath(new URL(entry, import.meta.url))], outfile });
  return outfile;
}

/** Writes the conformance worker into `outDir` and returns its path; throws on any esbuild error. */
export const bundleWorker = (outDir) => bundle('./worker.ts', outDir, 'worker.mjs', WORKERD);

/** The Cloudflare hub entry (`src/hub/cloudflare.ts`) as workerd runs it. */
export const bundleHub = (outDir) => bundle('../../src/hub/cloudflare.ts', outDir, 'hub.mjs', WORKERD);

/** The transports and codec for the Node side of the hub test (`ws` stays external: run.mjs passes it in). */
export const bundleHubClient = (outDir) =>
  bundle('./hub-client.ts', outDir, 'hub-client.mjs', { bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', logLevel: 'silent' });
