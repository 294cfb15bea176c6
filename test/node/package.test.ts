import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { VERSION } from '../../src/index.ts';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const deno = JSON.parse(readFileSync(join(root, 'deno.json'), 'utf8'));

describe('[node] package', () => {
  test('VERSION matches package.json and deno.json', () => {
    expect(VERSION).toBe(pkg.version);
    expect(deno.version).toBe(pkg.version);
  });

  test('every exports entry has a source file, and deno.json exposes the same entries', () => {
    const subpaths = Object.keys(pkg.exports);
    expect(subpaths).toContain('.');
    expect(Object.keys(deno.exports).sort()).toEqual(subpaths.sort());
    for (const subpath of subpaths) {
      expect(existsSync(join(root, deno.exports[subpath])), `${subpath} → ${deno.exports[subpath]}`).toBe(true);
      const target = pkg.exports[subpath];
      expect(target.types).toMatch(/^\.\/dist\/.*\.d\.ts$/);
      expect(target.default).toBe(target.types.replace(/\.d\.ts$/, '.js'));
      expect(deno.exports[subpath]).toBe(target.types.replace('./dist/', './src/').replace(/\.d\.ts$/, '.ts'));
    }
  });

  test('the CLI answers --version and rejects unknown commands with exit code 2', () => {
    const cli = join(root, 'src', 'cli', 'main.ts');
    const tsx = join(root, 'node_modules', '.bin', 'tsx');
    expect(execFileSync(tsx, [cli, '--version'], { encoding: 'utf8' }).trim()).toBe(VERSION);
    let status = 0;
    try {
      execFileSync(tsx, [cli, 'bogus'], { stdio: 'pipe' });
    } catch (error) {
      status = (error as { status: number }).status;
    }
    expect(status).toBe(2);
  });
});
