#!/usr/bin/env node
/**
 * Runs the conformance suite under Deno (`deno test`, the npm-installed binary, no downloads) and
 * reports it in the shared runner format: one PASS/FAIL line per test, .test-results/deno.json,
 * exit 0 only when at least one test ran and every test passed.
 *
 *   node test/deno/run.mjs [--filter <substring>]     (or env HAPPEN_TEST_FILTER)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseJUnit } from './junit.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OUT_DIR = join(ROOT, '.test-results');
const JUNIT = join(OUT_DIR, 'deno-junit.xml');
const DENO = join(ROOT, 'node_modules', '.bin', 'deno'); // the `deno` npm package's binary
const TIMEOUT_MS = 120_000;
const TAIL_CHARS = 4000;

function filterArg(argv) {
  const i = argv.indexOf('--filter');
  if (i !== -1) return argv[i + 1];
  const inline = argv.find((a) => a.startsWith('--filter='));
  return inline ? inline.slice('--filter='.length) : process.env.HAPPEN_TEST_FILTER || undefined;
}

/** Runs deno test; resolves with its exit code, output tail and the reason it could not finish, if any. */
function runDeno(filter) {
  // The root deno.json sets "nodeModulesDir": "manual": bare imports resolve from the npm-installed
  // node_modules, so nothing is downloaded. Deno KV needs --unstable-kv; the KV tests write their
  // database files under .test-results and spawn deno itself (restart and missing-flag checks).
  const args = ['test', '--config', 'deno.json', '--no-prompt', `--junit-path=${JUNIT}`, '--unstable-kv', '--allow-env',
    '--allow-read=.', `--allow-write=${OUT_DIR}`, `--allow-run=${realpathSync(DENO)}`,
    // The hub tests serve and connect on loopback only.
    '--allow-net=127.0.0.1,localhost'];
  if (filter) args.push('--filter', filter); // a substring (deno reads "/.../" as a regex)
  args.push('test/deno/conformance.test.ts', 'test/deno/storage.test.ts', 'test/deno/hub.test.ts');
  const env = {
    ...process.env,
    NO_COLOR: '1',
    DENO_NO_UPDATE_CHECK: '1',
    DENO_DIR: join(OUT_DIR, 'deno-dir'), // keep Deno's caches inside the project
  };
  return new Promise((done) => {
    let output = '';
    const keep = (chunk) => (output = (output + chunk).slice(-TAIL_CHARS * 4));
    const child = spawn(DENO, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let problem;
    const timer = setTimeout(() => {
      problem = `deno test did not finish within ${TIMEOUT_MS / 1000} s (killed)`;
      child.kill('SIGKILL');
    }, TIMEOUT_MS);
    child.on('error', (error) => {
      problem = `could not start ${DENO}: ${error.message}`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Deno colours some hints even with NO_COLOR; strip escapes so the report stays plain text.
      done({ code: code ?? -1, signal, problem, tail: output.replace(/\x1b\[[0-9;]*m/g, '').slice(-TAIL_CHARS) });
    });
  });
}

/** An error on one line for the console: no stack frames or code frame (the JSON keeps them). */
function oneLine(error) {
  const lines = error.split('\n');
  const kept = lines.filter((line, i) => !/^\s*at /.test(line) && !/^\s*\^\s*$/.test(line) && !/^\s*\^\s*$/.test(lines[i + 1] ?? ''));
  const text = kept.map((line) => line.trim()).filter(Boolean).join(' | ');
  return text.length > 600 ? `${text.slice(0, 600)}…` : text;
}

async function main() {
  const started = Date.now();
  const filter = filterArg(process.argv.slice(2));
  mkdirSync(OUT_DIR, { recursive: true });
  rmSync(JUNIT, { force: true }); // a stale report must never pass for this run's

  let results = [];
  let run = { code: -1, problem: `deno binary missing at ${DENO} (run npm install)`, tail: '' };
  if (existsSync(DENO)) {
    run = await runDeno(filter);
    if (existsSync(JUNIT)) results = parseJUnit(readFileSync(JUNIT, 'utf8'));
  }
  results = results.map((r) => ({ runtime: 'deno', ...r }));

  // Anything that kept deno from reporting cleanly becomes a failed result, so it is never silent.
  const allPassed = results.length > 0 && results.every((r) => r.ok);
  let cause = run.problem;
  if (!cause && results.length === 0) cause = existsSync(JUNIT) ? `no tests ran${filter ? ` (filter "${filter}")` : ''}` : 'deno test wrote no JUnit report (type-check error or crash?)';
  if (!cause && run.code !== 0 && allPassed) {
    cause = `deno test exited with ${run.signal ? `signal ${run.signal}` : `code ${run.code}`} although every reported test passed`;
  }
  if (cause) {
    const error = run.tail.trim() ? `${cause}\n--- deno output (tail) ---\n${run.tail.trim()}` : cause;
    results.push({ runtime: 'deno', name: 'deno test run', ok: false, ms: Date.now() - started, error });
  }

  for (const r of results) console.log(r.ok ? `PASS [deno] ${r.name}` : `FAIL [deno] ${r.name}: ${oneLine(r.error)}`);
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  writeFileSync(join(OUT_DIR, 'deno.json'), `${JSON.stringify({ runner: 'deno', passed, failed, results }, null, 2)}\n`);
  console.log(`deno: ${passed} passed, ${failed} failed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
}

await main();
