/**
 * A sleeping workflow survives a Durable Object restart in workerd: an instance started in one
 * Miniflare sleeps with the object's alarm set to its wake time; that Miniflare is disposed and a new
 * one started on the same persist directory; the alarm alone (no request) brings the object back, and
 * the workflow completes with each step run once — read afterwards over HTTP from its storage.
 */
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNTIME = 'workerd:durable-object';
const NAME = 'edge › workflow › a workflow sleeping in a Durable Object survives a restart (new Miniflare, same persist dir): the alarm wakes it, each step runs once';
const SLEEP_MS = 1_500;

async function bundle(buildDir) {
  await mkdir(buildDir, { recursive: true });
  const outfile = join(buildDir, 'workflow-worker.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./workflow-worker.ts', import.meta.url))],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    logLevel: 'silent',
  });
  return outfile;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function get(mf, path) {
  const response = await mf.dispatchFetch(`http://localhost${path}`);
  const body = await response.text();
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}: ${body.slice(0, 500)}`);
  return JSON.parse(body);
}

/** Runs the test unless `filter` excludes it; `record(runtime, result)` is run.mjs's reporter. */
export async function workflowTests(buildDir, record, filter = '') {
  if (filter && !NAME.includes(filter)) return;
  const started = Date.now();
  const persist = await mkdtemp(join(tmpdir(), 'happen-wf-do-'));
  const options = {
    modules: true,
    scriptPath: await bundle(buildDir),
    modulesRoot: buildDir,
    compatibilityDate: '2026-04-01',
    durableObjects: { WF: { className: 'WorkflowObject', useSQLite: true } },
    durableObjectsPersist: persist,
  };
  const dispose = (mf) => Promise.race([mf?.dispose(), sleep(10_000)]).catch(() => {});
  let mf;
  try {
    mf = new Miniflare(options);
    const first = await get(mf, `/start?id=trip-1&ms=${SLEEP_MS}`);
    equal(first.instance.status, 'sleeping', 'the instance sleeps before the restart');
    equal(first.instance.currentStep, 'nap');
    equal(first.alarm, first.instance.wakeAt, "the object's alarm is the wake time");
    await dispose(mf);
    mf = undefined;

    mf = new Miniflare(options);
    await mf.ready;
    // No request until well past the wake time: only the alarm can run the last step.
    const wait = first.instance.wakeAt - Date.now() + 1_000;
    await sleep(Math.max(wait, 500));
    const askedAt = Date.now();
    const after = await get(mf, '/status?id=trip-1');
    equal(after.instance.status, 'completed', `completed: ${JSON.stringify(after.instance)}`);
    deepStrictEqual(after.instance.history.map((h) => `${h.step}:${h.status}`), ['before:completed', 'nap:completed', 'after:completed']);
    equal(after.counts.before, 1, 'the first step ran once');
    equal(after.counts.after, 1, 'the last step ran once');
    ok(after.counts.alarm >= 1, 'the alarm fired');
    ok(after.times.after >= first.instance.wakeAt, 'the last step ran at or after the wake time');
    ok(after.times.after < askedAt, 'the last step ran before anything asked the new instance: the alarm did it');
    equal(after.counts.constructed, 2, 'one construction per Miniflare');
    equal(after.alarm, null, 'no alarm is left');
    record(RUNTIME, { name: NAME, ok: true, ms: Date.now() - started });
  } catch (error) {
    record(RUNTIME, { name: NAME, ok: false, ms: Date.now() - started, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  } finally {
    await dispose(mf);
    await rm(persist, { recursive: true, force: true });
  }
}
