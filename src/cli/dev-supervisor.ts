/**
 * Supervision of one node process of `happen dev`, one-for-one at process level (the ideas of
 * `happen/resilience`'s supervisor, for processes): a process that exits without being asked to is
 * restarted after an exponential backoff; more than `maxRestarts` crashes within `restartWindow`
 * and it is given up on (`failed`) until its file changes. A change restarts it at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { DevMessage, RunnerMessage } from './dev-protocol.ts';

/** Where a supervised process is in its life. */
export type ProcessState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';

/** A supervised process's status, as reported on every change. */
export interface ProcessStatus {
  /** What names the process in messages (its module, relative to the project). */
  label: string;
  state: ProcessState;
  /** The current process's id (while starting or running). */
  pid?: number;
  /** The nodes it hosts, once running. */
  nodes: string[];
  /** Restarts after crashes so far. */
  restarts: number;
  /** How the last process ended (after a crash). */
  exitCode?: number | null;
  signal?: NodeJS.Signals | null;
  /** Why the module failed, when it said so. */
  error?: string;
  /** The backoff before the next start (while restarting). */
  delayMs?: number;
  /** Why it (re)started: first start, a crash, or a changed file. */
  reason?: 'start' | 'crash' | 'change';
}

/** How the process is started: `spawn(command, args, { cwd, env })` with an IPC channel. */
export interface ProcessSpec {
  label: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string | undefined>;
}

/** Restart policy of a supervised process. */
export interface SuperviseOptions {
  /** Crashes tolerated within `restartWindow`; one more and the process is given up on (default 5). */
  maxRestarts?: number;
  /** Milliseconds over which crashes are counted (default 30,000). */
  restartWindow?: number;
  /** First backoff in ms, doubled per crash within the window (default 250). */
  minDelayMs?: number;
  /** Largest backoff in ms (default 5,000). */
  maxDelayMs?: number;
  /** How long a stopped process may take to exit before it is killed (default 3,000 ms). */
  stopTimeoutMs?: number;
  /** Called with each line the process writes. */
  onOutput?: (stream: 'stdout' | 'stderr', line: string) => void;
  now?: () => number;
}

/** A supervised process. */
export interface SupervisedProcess {
  status(): ProcessStatus;
  /** Restarts now (its file changed): a failed process gets a fresh start and a fresh restart count. */
  restart(): Promise<void>;
  /** Stops it for good; resolves once it exited. */
  stop(): Promise<void>;
}

/** Starts `spec` and keeps it running; `onChange` sees every status change. */
export function superviseProcess(spec: ProcessSpec, options: SuperviseOptions, onChange: (status: ProcessStatus) => void): SupervisedProcess {
  const maxRestarts = options.maxRestarts ?? 5;
  const restartWindow = options.restartWindow ?? 30_000;
  const minDelayMs = options.minDelayMs ?? 250;
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 3_000;
  const now = options.now ?? Date.now;
  let crashes: number[] = [];
  let status: ProcessStatus = { label: spec.label, state: 'starting', nodes: [], restarts: 0 };
  let child: ChildProcess | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const set = (next: Partial<ProcessStatus> & { state: ProcessState }) => {
    status = { label: spec.label, nodes: [], restarts: status.restarts, ...next };
    onChange({ ...status });
  };

  function start(reason: 'start' | 'crash' | 'change'): void {
    timer = undefined;
    if (stopped) return;
    let error: string | undefined;
    const proc = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Its own process group: a Ctrl-C in the terminal reaches dev alone, which stops the nodes in order.
      detached: true,
    });
    child = proc;
    lines(proc.stdout!, (line) => options.onOutput?.('stdout', line));
    lines(proc.stderr!, (line) => options.onOutput?.('stderr', line));
    proc.on('message', (message: RunnerMessage) => {
      if (message?.type === 'ready' && child === proc) set({ state: 'running', pid: proc.pid!, nodes: message.nodes, reason });
      else if (message?.type === 'failed') error = message.message;
    });
    proc.once('error', (cause) => {
      error = cause.message; // spawn itself failed: an 'exit' may not follow
      if (proc.exitCode === null && proc.pid === undefined) exited(proc, null, null, error);
    });
    proc.once('exit', (code, signal) => exited(proc, code, signal, error));
    set({ state: 'starting', ...(proc.pid !== undefined ? { pid: proc.pid } : {}), reason });
  }

  function exited(proc: ChildProcess, exitCode: number | null, signal: NodeJS.Signals | null, error: string | undefined): void {
    if (child !== proc) return; // an old process we replaced
    child = undefined;
    if (stopped) return;
    const at = now();
    crashes = crashes.filter((t) => at - t < restartWindow);
    crashes.push(at);
    const ended = { exitCode, signal, ...(error !== undefined ? { error } : {}) };
    if (crashes.length > maxRestarts) {
      set({ state: 'failed', ...ended });
      return;
    }
    const delayMs = Math.min(maxDelayMs, minDelayMs * 2 ** (crashes.length - 1));
    status.restarts++;
    set({ state: 'restarting', delayMs, ...ended });
    timer = setTimeout(() => start('crash'), delayMs);
  }

  async function end(proc: ChildProcess | undefined): Promise<void> {
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    try {
      if (proc.connected) proc.send({ type: 'stop' } satisfies DevMessage);
      else proc.kill('SIGTERM');
    } catch {
      proc.kill('SIGTERM');
    }
    const killer = setTimeout(() => proc.kill('SIGKILL'), stopTimeoutMs);
    await gone;
    clearTimeout(killer);
  }

  start('start');
  return {
    status: () => ({ ...status }),
    async restart() {
      if (stopped) return;
      clearTimeout(timer);
      timer = undefined;
      const old = child;
      child = undefined; // its exit is not a crash
      await end(old);
      crashes = [];
      start('change');
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const old = child;
      await end(old);
      child = undefined;
      set({ state: 'stopped' });
    },
  };
}

// Splits a stream into lines (the last one flushed at the end).
function lines(stream: NodeJS.ReadableStream, each: (line: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const part of parts) each(part);
  });
  stream.on('end', () => {
    if (rest !== '') each(rest);
    rest = '';
  });
}
