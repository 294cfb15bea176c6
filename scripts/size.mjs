#!/usr/bin/env node
// Bundle size of each public entry, minified and gzipped with esbuild; `--check` fails when the
// `happen` core entry exceeds its budget.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';

const CORE_BUDGET = 9 * 1024; // 8 KB until core learned to route events to other systems (the mesh hook)
const entries = {
  happen: 'src/index.ts',
  'happen/platform': 'src/platform/index.ts',
  'happen/security': 'src/security/index.ts',
  'happen/security/indexeddb': 'src/security/keystore-indexeddb.ts',
  'happen/storage': 'src/storage/index.ts',
  'happen/storage/indexeddb': 'src/storage/indexeddb.ts',
  'happen/storage/durable-object': 'src/storage/durable-object.ts',
  'happen/storage/deno-kv': 'src/storage/deno-kv.ts',
  'happen/mesh': 'src/mesh/index.ts',
  'happen/transports/broadcast-channel': 'src/transports/broadcast-channel.ts',
  'happen/transports/websocket': 'src/transports/websocket.ts',
  'happen/transports/http': 'src/transports/http.ts',
  'happen/transports/nats': 'src/transports/nats.ts',
  'happen/hub': 'src/hub/index.ts',
  'happen/hub/cloudflare': 'src/hub/cloudflare.ts',
};

const sizes = {};
for (const [name, entry] of Object.entries(entries)) {
  const result = await build({ entryPoints: [entry], bundle: true, minify: true, format: 'esm', platform: 'neutral', mainFields: ['module', 'main'], external: ['crypto'], write: false, logLevel: 'error' });
  const code = result.outputFiles[0].contents;
  sizes[name] = { min: code.length, gzip: gzipSync(code, { level: 9 }).length };
}
for (const [name, s] of Object.entries(sizes)) {
  console.log(`${name.padEnd(36)} ${(s.min / 1024).toFixed(1).padStart(6)} KB min  ${(s.gzip / 1024).toFixed(2).padStart(6)} KB min+gzip`);
}
const core = sizes.happen.gzip;
console.log(`core budget: ${(core / 1024).toFixed(2)} KB of ${CORE_BUDGET / 1024} KB (${Math.round((core / CORE_BUDGET) * 100)}%)`);
if (process.argv.includes('--check') && core > CORE_BUDGET) {
  console.error(`FAIL: the happen core entry is ${core} bytes gzipped, over the ${CORE_BUDGET}-byte budget`);
  process.exit(1);
}
