#!/usr/bin/env node
/**
 * Deterministic companion to `npm run bench` for the local-dispatch target: counts CPU instructions
 * (GC included) with valgrind's callgrind instead of timing, because wall time on small shared VMs
 * moves by tens of percent between runs. Each contender's cost per event is the difference between
 * a run of 400k and of 200k events, so start-up and JIT warm-up cancel out.
 *   npm run bench:instructions         (needs valgrind: apt-get install valgrind)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

const EVENTS = [200, 400]; // thousands of events per run
const dir = mkdtempSync(join(tmpdir(), 'happen-instr-'));

if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.log('skipped: valgrind is not installed (apt-get install valgrind)');
  process.exit(0);
}

// `node bundle.mjs <who> <thousands> <subscribers>` broadcasts in bursts of 1,000.
const script = `
import mitt from 'mitt';
import { createHappen } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).pathname)};
const [who, thousands, subscribers] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
let sink = 0;
const happen = createHappen();
const emitter = mitt();
const target = new EventTarget();
for (let s = 0; s < subscribers; s++) {
  happen.createNode('sub' + s).on('bench.tick', (e) => void (sink += e.payload));
  emitter.on('bench.tick', (n) => void (sink += n));
  target.addEventListener('bench.tick', (e) => void (sink += e.detail));
}
const source = happen.createNode('source');
for (let b = 0; b < thousands; b++) {
  if (who === 'happen') {
    for (let i = 0; i < 1000; i++) source.broadcast({ type: 'bench.tick', payload: 1 });
    await happen.settled();
  } else if (who === 'mitt') {
    for (let i = 0; i < 1000; i++) emitter.emit('bench.tick', 1);
  } else {
    for (let i = 0; i < 1000; i++) target.dispatchEvent(new CustomEvent('bench.tick', { detail: 1 }));
  }
}`;
const entry = join(dir, 'entry.mjs');
writeFileSync(entry, script);
const bundled = join(dir, 'bundle.mjs');
await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile: bundled, logLevel: 'error', nodePaths: [new URL('../node_modules', import.meta.url).pathname] });


function perEvent(who, subscribers) {
  const [small, large] = EVENTS.map((k) => {
    const args = ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--single-threaded', bundled, who, String(k), String(subscribers)];
    const res = spawnSync('valgrind', args, { encoding: 'utf8' });
    const match = /Collected : (\d+)/.exec(res.stderr);
    if (!match) throw new Error(`callgrind gave no count for ${who}: ${res.stderr.slice(-500)}`);
    return Number(match[1]);
  });
  return (large - small) / ((EVENTS[1] - EVENTS[0]) * 1000);
}

try {
  for (const subscribers of [1, 10]) {
    console.log(`\nbroadcast to ${subscribers} subscriber(s), instructions per event (callgrind, GC included)`);
    const counts = Object.fromEntries(['happen', 'mitt', 'EventTarget'].map((who) => [who, perEvent(who, subscribers)]));
    for (const [who, n] of Object.entries(counts)) {
      const ratio = who === 'happen' ? '' : `   happen ÷ ${who} = ${(counts.happen / n).toFixed(2)}`;
      console.log(`  ${who.padEnd(12)} ${n.toFixed(0).padStart(6)} instr/event${ratio}`);
    }
    console.log(`  target: happen ≤ 3× mitt — ${counts.happen <= 3 * counts.mitt ? 'met' : 'NOT met'}`);
    console.log(`  target: happen ≤ 1× EventTarget — ${counts.happen <= counts.EventTarget ? 'met' : 'NOT met'}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
