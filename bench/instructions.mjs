#!/usr/bin/env node
/**
 * Deterministic companion to `npm run bench` for the local-dispatch target: counts CPU instructions
 * (GC included) with valgrind's callgrind instead of timing, because wall time on small shared VMs
 * moves by tens of percent between runs. Each contender's cost per event is the difference between
 * a run of 400k and of 200k events, so start-up and JIT warm-up cancel out.
 *   npm run bench:instructions         (needs valgrind: apt-get install valgrind)
 *   npm run bench:instructions -- --who happen --subscribers 1    (one contender or size, for quick A/B)
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

const EVENTS = [200, 400]; // thousands of events per run
const flag = (name, all) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? all : process.argv[i + 1].split(',').map((v) => (typeof all[0] === 'number' ? Number(v) : v));
};
const WHO = flag('who', ['happen', 'mitt', 'EventTarget']);
const SUBSCRIBERS = flag('subscribers', [1, 10]);
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


// Both run sizes at once: callgrind counts are the same however the runs share the CPU.
async function perEvent(who, subscribers) {
  const [small, large] = await Promise.all(
    EVENTS.map(
      (k) =>
        new Promise((resolve, reject) => {
          const args = ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--single-threaded', bundled, who, String(k), String(subscribers)];
          const child = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr.on('data', (chunk) => (stderr += chunk));
          child.on('error', reject);
          child.on('close', () => {
            const match = /Collected : (\d+)/.exec(stderr);
            if (match) resolve(Number(match[1]));
            else reject(new Error(`callgrind gave no count for ${who}: ${stderr.slice(-500)}`));
          });
        }),
    ),
  );
  return (large - small) / ((EVENTS[1] - EVENTS[0]) * 1000);
}

try {
  for (const subscribers of SUBSCRIBERS) {
    console.log(`\nbroadcast to ${subscribers} subscriber(s), instructions per event (callgrind, GC included)`);
    const counts = {};
    for (const who of WHO) counts[who] = await perEvent(who, subscribers);
    for (const [who, n] of Object.entries(counts)) {
      const ratio = who === 'happen' || counts.happen === undefined ? '' : `   happen ÷ ${who} = ${(counts.happen / n).toFixed(2)}`;
      console.log(`  ${who.padEnd(12)} ${n.toFixed(0).padStart(6)} instr/event${ratio}`);
    }
    if (counts.happen === undefined) continue;
    if (counts.mitt !== undefined) console.log(`  target: happen ≤ 3× mitt — ${counts.happen <= 3 * counts.mitt ? 'met' : 'NOT met'}`);
    if (counts.EventTarget !== undefined) console.log(`  target: happen ≤ 1× EventTarget — ${counts.happen <= counts.EventTarget ? 'met' : 'NOT met'}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
