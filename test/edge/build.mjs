/** Bundles worker.ts for workerd (neutral ESM, browser-flavoured package entries, no node: imports). */
import { build } from 'esbuild';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Writes the bundle into `outDir` and returns its path; throws on any esbuild error. */
export async function bundleWorker(outDir) {
  await mkdir(outDir, { recursive: true });
  const outfile = join(outDir, 'worker.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./worker.ts', import.meta.url))],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    external: ['cloudflare:*'],
    target: 'es2022',
    logLevel: 'silent',
  });
  return outfile;
}
