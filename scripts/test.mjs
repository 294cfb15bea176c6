#!/usr/bin/env node
// The whole test suite, every runner, one closing line: `N passed, N failed`.
//   node scripts/test.mjs                 typecheck, size budget, Node, Chromium, workerd, Deno
//   node scripts/test.mjs --only deno     one runner (typecheck | size | node | browser | edge | deno | mesh)
//   node scripts/test.mjs --filter causal only tests whose name contains "causal"
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const results = join(root, '.test-results');
const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const only = option('--only');
const filter = option('--filter') ?? process.env.HAPPEN_TEST_FILTER;
const bin = (name) => join(root, 'node_modules', '.bin', name);

/** Each runner: how to run it and how to count its results. */
const runners = [
  { name: 'typecheck', run: typecheck },
  { name: 'size', run: () => single(process.execPath, [join(root, 'scripts', 'size.mjs'), '--check']) },
  { name: 'node', run: runVitest },
  { name: 'browser', run: () => runScript('test/browser/run.mjs', 'browser.json') },
  { name: 'edge', run: () => runScript('test/edge/run.mjs', 'edge.json') },
  { name: 'deno', run: () => runScript('test/deno/run.mjs', 'deno.json') },
  { name: 'mesh', run: () => runScript('test/mesh/run.mjs', 'mesh.json') },
];

function exec(cmd, cmdArgs) {
  const env = { ...process.env, ...(filter ? { HAPPEN_TEST_FILTER: filter } : {}) };
  const res = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', env, timeout: 10 * 60_000 });
  return res.error ? 1 : (res.status ?? 1);
}

// A check with no per-test report counts as one test.
function single(cmd, cmdArgs) {
  if (filter) return { passed: 0, failed: 0 };
  return exec(cmd, cmdArgs) === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 };
}

// The library is checked without Node types (so a Node API in src/ fails to compile), tests with them.
function typecheck() {
  if (filter) return { passed: 0, failed: 0 };
  const ok = ['tsconfig.json', 'tsconfig.test.json'].every((p) => exec(bin('tsc'), ['--noEmit', '-p', join(root, p)]) === 0);
  return ok ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 };
}

function runVitest() {
  const out = join(results, 'vitest.json');
  const vitestArgs = ['run', '--reporter=default', '--reporter=json', `--outputFile=${out}`];
  if (filter) vitestArgs.push('-t', filter.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const status = exec(bin('vitest'), vitestArgs);
  if (!existsSync(out)) return { passed: 0, failed: 1 };
  const report = JSON.parse(readFileSync(out, 'utf8'));
  const failed = report.numFailedTests + (status !== 0 && report.numFailedTests === 0 ? 1 : 0);
  return { passed: report.numPassedTests, failed };
}

function runScript(script, reportName) {
  const out = join(results, reportName);
  rmSync(out, { force: true });
  const status = exec(process.execPath, [join(root, script), ...(filter ? ['--filter', filter] : [])]);
  if (!existsSync(out)) {
    console.error(`${script} wrote no report (exit ${status}): counted as one failure`);
    return { passed: 0, failed: 1 };
  }
  const report = JSON.parse(readFileSync(out, 'utf8'));
  const failed = report.failed + (status !== 0 && report.failed === 0 ? 1 : 0);
  return { passed: report.passed, failed };
}

mkdirSync(results, { recursive: true });
const selected = runners.filter((r) => !only || only.split(',').includes(r.name));
if (selected.length === 0) {
  console.error(`Unknown runner "${only}"; choose from ${runners.map((r) => r.name).join(', ')}`);
  process.exit(2);
}
const totals = { passed: 0, failed: 0 };
const rows = [];
for (const runner of selected) {
  console.log(`\n=== ${runner.name} ===`);
  const started = Date.now();
  const counts = runner.run();
  rows.push(`${runner.name.padEnd(10)} ${String(counts.passed).padStart(5)} passed ${String(counts.failed).padStart(4)} failed  ${((Date.now() - started) / 1000).toFixed(1)}s`);
  totals.passed += counts.passed;
  totals.failed += counts.failed;
}
console.log(`\n${rows.join('\n')}\n`);
console.log(`${totals.passed} passed, ${totals.failed} failed`);
process.exit(totals.failed === 0 && totals.passed > 0 ? 0 : 1);
