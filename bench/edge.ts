/** Runs the storage scenarios inside a Durable Object in workerd (miniflare), on SQLite-backed storage. */
import { build } from 'esbuild';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import type { ScenarioResult } from './harness.ts';

/** The storage scenarios' results from a Durable Object with on-disk storage. */
export async function runInWorkerd(): Promise<ScenarioResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'happen-bench-do-'));
  const bundle = await build({
    entryPoints: [new URL('./storage-edge-entry.ts', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    write: false,
    logLevel: 'error',
  });
  const mf = new Miniflare({
    modules: true,
    script: bundle.outputFiles[0]!.text,
    compatibilityDate: '2026-04-01',
    durableObjects: { BENCH: { className: 'BenchObject', useSQLite: true } },
    durableObjectsPersist: join(dir, 'do'),
  });
  try {
    const response = await mf.dispatchFetch('http://localhost/');
    if (!response.ok) throw new Error(`the bench object answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as ScenarioResult[];
  } finally {
    await mf.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}
