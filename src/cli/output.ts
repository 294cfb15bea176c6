/**
 * What a `happen` command writes: its result (human text, or one JSON document with `--json`), its
 * errors (one line, or a one-line JSON document on stderr, with an exit code), and progress for long
 * operations — a spinner and a progress bar that animate on a terminal and fall back to plain lines
 * when stderr is not a TTY or with `--json`. Progress always goes to stderr, so stdout stays clean
 * for pipes; a script reading a `--json` error takes the last line of stderr.
 */
import { HappenError, type ErrorCategory } from '../core/errors.ts';

/** A text sink: `process.stdout` / `process.stderr`, or a test's collector. */
export interface TextStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** What a command may use of the outside world, passed in so every command also runs in-process in tests. */
export interface Io {
  /** The directory relative paths are resolved from. */
  cwd: string;
  env: Record<string, string | undefined>;
  stdout: TextStream;
  stderr: TextStream;
  /** Aborted on Ctrl-C / SIGTERM: long-running commands (dev, tail) wind down and resolve. */
  signal: AbortSignal;
}

/** A failure a command reports to the user: a one-line message, a code for scripts, and an exit code. */
export class CliError extends HappenError {
  constructor(
    code: string,
    message: string,
    /** 2 for usage errors (bad arguments), 1 for everything else. */
    readonly exitCode = 1,
    details?: unknown,
    category: ErrorCategory = 'validation',
  ) {
    super(category, code, message, details);
  }
}

/** A usage error (bad or missing arguments): exit code 2. */
export function usageError(message: string, details?: unknown): CliError {
  return new CliError('USAGE', message, 2, details);
}

/** Prints `error` as the command's failure and returns its exit code. */
export function reportError(io: Pick<Io, 'stderr' | 'env'>, command: string | undefined, error: unknown, json: boolean): number {
  const known = error instanceof HappenError;
  const code = known ? error.code : 'INTERNAL';
  const exitCode = error instanceof CliError ? error.exitCode : 1;
  const message = error instanceof Error ? error.message : String(error);
  if (json) {
    const body: Record<string, unknown> = { code, message, ...(known ? { category: error.category } : {}) };
    if (known && error.details !== undefined) body.details = error.details;
    io.stderr.write(`${JSON.stringify({ error: body })}\n`);
    return exitCode;
  }
  const prefix = command ? `happen ${command}` : 'happen';
  // Usage errors point at the help; unexpected ones show their stack only when asked (HAPPEN_DEBUG=1).
  const hint = code === 'USAGE' && command ? ` (see: happen ${command} --help)` : '';
  io.stderr.write(`${prefix}: ${firstLine(message)}${hint}\n`);
  if (!known && io.env.HAPPEN_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return exitCode;
}

/** A spinner for an operation of unknown length. */
export interface Spinner {
  /** Changes the text shown next to the spinner (a terminal only; plain output prints start and end). */
  update(text: string): void;
  /** Stops with a success line (default: the current text). */
  succeed(text?: string): void;
  /** Stops with a failure line (default: the current text). */
  fail(text?: string): void;
}

/** A progress bar over a known number of steps. */
export interface Progress {
  /** Advances by `n` steps (default 1). */
  tick(n?: number): void;
  /** Sets how many steps are done. */
  update(done: number): void;
  /** Ends the bar with a summary line (default: `<label>: <done>/<total> done`). */
  done(text?: string): void;
}

/** How a command writes its output. */
export interface Output {
  /** Whether `--json` was given: stdout gets exactly one JSON document, from {@link Output.result}. */
  readonly json: boolean;
  /** A line for people on stdout; nothing with `--json`. */
  info(text: string): void;
  /** The command's result: `data` as one JSON document with `--json`, else the human text (when given). */
  result(data: unknown, human?: string): void;
  spinner(text: string): Spinner;
  progress(label: string, total: number): Progress;
}

/** Whether progress may animate on `stream`: a TTY that is not a dumb terminal. */
export function isInteractive(stream: TextStream, env: Record<string, string | undefined>): boolean {
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** The output of one command run. */
export function createOutput(io: Pick<Io, 'stdout' | 'stderr' | 'env'>, json: boolean): Output {
  const interactive = !json && isInteractive(io.stderr, io.env);
  let wrote = false;
  return {
    json,
    info(text) {
      if (!json) io.stdout.write(`${text}\n`);
    },
    result(data, human) {
      if (json) {
        // One document per run: a second result would make stdout unparseable.
        if (wrote) throw new HappenError('runtime', 'OUTPUT_TWICE', 'a command wrote its JSON result twice');
        wrote = true;
        io.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
      } else if (human !== undefined) {
        io.stdout.write(human.endsWith('\n') ? human : `${human}\n`);
      }
    },
    // With --json the animation would garble a log that a script captures: plain lines, on stderr like always.
    spinner: (text) => (interactive ? ttySpinner(io.stderr, text) : plainSpinner(io.stderr, text)),
    progress: (label, total) => (interactive ? ttyProgress(io.stderr, label, total) : plainProgress(io.stderr, label, total)),
  };
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR_LINE = '\r\x1b[2K';
const SPIN_MS = 80;

function ttySpinner(stream: TextStream, initial: string): Spinner {
  let text = initial;
  let frame = 0;
  let stopped = false;
  const draw = () => stream.write(`${CLEAR_LINE}${FRAMES[frame++ % FRAMES.length]} ${text}`);
  draw();
  const timer = setInterval(draw, SPIN_MS);
  (timer as { unref?: () => void }).unref?.(); // a spinner never keeps the process alive
  const stop = (mark: string, line: string) => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    stream.write(`${CLEAR_LINE}${mark} ${line}\n`);
  };
  return {
    update: (next) => void (text = next),
    succeed: (line) => stop('✓', line ?? text),
    fail: (line) => stop('✗', line ?? text),
  };
}

function plainSpinner(stream: TextStream, initial: string): Spinner {
  let text = initial;
  let stopped = false;
  stream.write(`${text} ...\n`);
  const stop = (line: string) => {
    if (stopped) return;
    stopped = true;
    stream.write(`${line}\n`);
  };
  return {
    update: (next) => void (text = next),
    succeed: (line) => stop(line ?? `${text}: done`),
    fail: (line) => stop(line ?? `${text}: failed`),
  };
}

const BAR_WIDTH = 24;
const REDRAW_MS = 50;

function ttyProgress(stream: TextStream, label: string, total: number): Progress {
  let done = 0;
  let lastDraw = 0;
  let lastPercent = -1;
  let finished = false;
  const draw = (force: boolean) => {
    const percent = percentOf(done, total);
    const now = Date.now();
    // Redraw on a new whole percent, at most every REDRAW_MS, so a tight loop does not flood the terminal.
    if (!force && (percent === lastPercent || now - lastDraw < REDRAW_MS)) return;
    lastDraw = now;
    lastPercent = percent;
    const filled = Math.round((percent / 100) * BAR_WIDTH);
    stream.write(`${CLEAR_LINE}${label} [${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${percent}% ${done}/${total}`);
  };
  draw(true);
  const set = (value: number) => {
    if (finished) return;
    done = clamp(value, total);
    draw(false);
  };
  return {
    tick: (n = 1) => set(done + n),
    update: set,
    done(text) {
      if (finished) return;
      finished = true;
      stream.write(`${CLEAR_LINE}${text ?? `${label}: ${done}/${total} done`}\n`);
    },
  };
}

function plainProgress(stream: TextStream, label: string, total: number): Progress {
  let done = 0;
  let bucket = 0;
  let finished = false;
  stream.write(`${label}: 0/${total}\n`);
  // One line per tenth crossed: a log file gets a readable trail, not one line per step.
  const set = (value: number) => {
    if (finished) return;
    done = clamp(value, total);
    const reached = Math.floor(percentOf(done, total) / 10);
    if (reached > bucket && done < total) {
      bucket = reached;
      stream.write(`${label}: ${done}/${total} (${percentOf(done, total)}%)\n`);
    }
  };
  return {
    tick: (n = 1) => set(done + n),
    update: set,
    done(text) {
      if (finished) return;
      finished = true;
      stream.write(`${text ?? `${label}: ${done}/${total} done`}\n`);
    },
  };
}

function percentOf(done: number, total: number): number {
  return total > 0 ? Math.floor((done / total) * 100) : 100;
}

function clamp(value: number, total: number): number {
  return Math.max(0, Math.min(total, Math.floor(value)));
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!;
}
