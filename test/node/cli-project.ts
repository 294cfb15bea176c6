/**
 * Helpers for CLI tests that run `happen` the way a user does: this repository built into a temporary
 * package (what `npm run build` + `npm install happen` would give, leaving the repo's own dist/ alone),
 * a generated project whose `node_modules/happen` links to it, and the built bin run as a program
 * whose output is read line by line.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';

/** The repository's root. */
export const ROOT = join(import.meta.dirname, '..', '..');

/** What a finished program printed. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment without HAPPEN_* settings, so the machine's never leak into a test. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: '1' };
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('HAPPEN_') && value !== undefined) env[key] = value;
  return { ...env, ...extra };
}

/** Runs a program to its end; resolves with its exit code and output (never rejects on a non-zero exit). */
export function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string>; timeout?: number }): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: options.cwd, env: cleanEnv(options.env), timeout: options.timeout ?? 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Builds this repository into `<dir>/happen`: its package.json, dist/ compiled from src/ (tsc, about
 * a second), and its node_modules linked. Returns the package directory.
 */
export async function buildPackage(dir: string): Promise<string> {
  const pkg = join(dir, 'happen');
  await mkdir(pkg, { recursive: true });
  await copyFile(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  await symlink(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  // tsc emits even when an unrelated file has a type error (the typecheck job reports those).
  const built = await run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], { cwd: ROOT });
  for (const entry of ['index.js', 'cli/main.js', 'cli/node-runner.js']) {
    if (!existsSync(join(pkg, 'dist', entry))) throw new Error(`the build has no dist/${entry}:\n${built.stdout}${built.stderr}`);
  }
  return pkg;
}

/** Gives a generated project its dependencies: `happen` → the built package; valibot and tsx from this repo. */
export async function linkProject(project: string, pkg: string): Promise<void> {
  await mkdir(join(project, 'node_modules'), { recursive: true });
  await symlink(pkg, join(project, 'node_modules', 'happen'), 'dir');
  for (const name of ['valibot', 'tsx']) await symlink(join(ROOT, 'node_modules', name), join(project, 'node_modules', name), 'dir');
}

/** A running program whose stdout and stderr are read as lines. */
export interface Started {
  child: ChildProcess;
  /** Every line so far. */
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the first line (from the start) of `stream` that `match` accepts; rejects after `timeout` ms or when the program exits first. */
  line(stream: 'stdout' | 'stderr', match: (line: string) => boolean, timeout?: number): Promise<string>;
  /** Resolves with the exit code once the program ended. */
  readonly exited: Promise<number | null>;
}

/** Starts a long-running program. */
export function start(command: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Started {
  const child = spawn(command, args, { cwd: options.cwd, env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = { stdout: [] as string[], stderr: [] as string[] };
  const waiters = new Set<() => void>();
  let ended = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      ended = true;
      for (const wake of [...waiters]) wake();
      resolve(code);
    }),
  );
  for (const stream of ['stdout', 'stderr'] as const) {
    let rest = '';
    child[stream]!.setEncoding('utf8');
    child[stream]!.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      lines[stream].push(...parts);
      for (const wake of [...waiters]) wake();
    });
  }
  return {
    child,
    stdout: lines.stdout,
    stderr: lines.stderr,
    exited,
    line(stream, match, timeout = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines[stream].find(match);
          if (found !== undefined) return finish(() => resolve(found));
          if (ended) finish(() => reject(new Error(`${command} ${args.join(' ')} exited before the line was printed:\n${transcript()}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`${command} ${args.join(' ')}: no such line within ${timeout} ms:\n${transcript()}`))), timeout);
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
  };

  function transcript(): string {
    return `--- stdout\n${lines.stdout.join('\n')}\n--- stderr\n${lines.stderr.join('\n')}`;
  }
}

/** Whether process `pid` is alive (refuses 0 and -1, which would reach a whole group). */
export function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`not a process id: ${pid}`);
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
