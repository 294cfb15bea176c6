import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import pkg from '../../package.json' with { type: 'json' };

// DESIGN.md §2: nothing under src/ except src/cli/ may use a Node API or a Node-only package.
const root = join(import.meta.dirname, '..', '..');
const allowedPackages = new Set(Object.keys((pkg as { dependencies?: Record<string, string> }).dependencies ?? {}));
const builtins = new Set(builtinModules.flatMap((m) => [m, m.split('/')[0]!]));

/** The Node API uses in one source file, as readable findings. */
export function nodeApiUses(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const findings: string[] = [];
  for (const match of code.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)) {
    const spec = match[1]!;
    if (spec.startsWith('.')) continue;
    const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
    if (spec.startsWith('node:') || builtins.has(name)) findings.push(`imports Node built-in "${spec}"`);
    else if (!allowedPackages.has(name)) findings.push(`imports "${spec}", which is not a declared runtime dependency`);
  }
  if (/\brequire\s*\(/.test(code)) findings.push('uses require()');
  if (/\bBuffer\b/.test(code)) findings.push('uses Buffer');
  if (/\bprocess\b/.test(code)) findings.push('uses process');
  return findings;
}

function libraryFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return relative(root, path) === join('src', 'cli') ? [] : libraryFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('[node] no Node API in the library', () => {
  test('the checker catches each forbidden use', () => {
    expect(nodeApiUses(`import fs from 'node:fs';`)).toEqual(['imports Node built-in "node:fs"']);
    expect(nodeApiUses(`import { join } from "path";`)).toEqual(['imports Node built-in "path"']);
    expect(nodeApiUses(`const x = await import('ws');`)).toEqual(['imports "ws", which is not a declared runtime dependency']);
    expect(nodeApiUses(`const b = Buffer.from('x');`)).toEqual(['uses Buffer']);
    expect(nodeApiUses(`if (process.env.X) {}`)).toEqual(['uses process']);
    expect(nodeApiUses(`const m = require('x');`)).toContain('uses require()');
    expect(nodeApiUses(`// process-wide cache, not a use of Buffer\nconst a = 1;`)).toEqual([]);
    expect(nodeApiUses(`import { x } from './local.ts';`)).toEqual([]);
  });

  const files = libraryFiles(join(root, 'src'));
  test('src/ has library files to check', () => expect(files.length).toBeGreaterThan(5));
  for (const file of files) {
    test(`${relative(root, file)} uses no Node API`, () => {
      expect(nodeApiUses(readFileSync(file, 'utf8'))).toEqual([]);
    });
  }

  test('every entry bundles for a neutral (non-Node) platform', async () => {
    const result = await build({
      entryPoints: Object.values(pkg.exports as Record<string, { types: string }>)
        .map((e) => e.types.replace('./dist/', 'src/').replace(/\.d\.ts$/, '.ts'))
        .filter((e) => !e.startsWith('src/cli/')) // the Node entries (happen/hub/node) are Node by design
        .map((e) => join(root, e)),
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'neutral',
      // nats-core's @nats-io/nkeys and /nuid declare only "main"; tweetnacl's guarded require('crypto')
      // is a Node fallback its browser field replaces — neither is a Node API in what ships to other runtimes.
      mainFields: ['module', 'main'],
      external: ['crypto'],
      outdir: 'out',
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    for (const file of result.outputFiles) expect(file.text).not.toMatch(/from\s*["']node:/);
  });
});
