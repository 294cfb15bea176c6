/**
 * `happen log export [--log FILE...] [--node ID...] [--type PATTERN] [--correlation ID] [--from N]
 * [--to N] [--since TIME] [--until TIME] [--out FILE] [--skip-bad] [--json]`: the event logs `happen
 * dev` records (`.happen/log/<node>.jsonl`), or the files named, filtered, merged into one log in
 * event-id order with each event once, and written as the JSON Lines `happen replay --log` reads.
 *
 * The rules, for scripts:
 * - Inputs: every `*.jsonl` in the project's `.happen/log/` (the project found from happen.config.json,
 *   else the working directory), or the files given with `--log` (and as arguments). `--node` keeps
 *   only the logs of those nodes: a log's node is its file name, as happen dev names them.
 * - Filters are and-ed. `--from` / `--to` are sequence numbers in each input log (each node numbers
 *   its own); `--since` / `--until` compare the event's causal timestamp; all bounds are inclusive.
 * - Merge: the logs are interleaved by event id (ids sort by the millisecond they were made), each
 *   log's own order kept; an id seen before (the same event recorded by two nodes) is dropped.
 * - Output: `{"sequence": n, "event": {...}}` per line, numbered 1, 2, ... afresh, to `--out` (written
 *   only once every input was read) or stdout. Progress goes to stderr.
 * - A malformed line (not JSON, not an event, or a sequence that does not increase) fails the export
 *   with `file:line` and exit code 1, before anything is written; `--skip-bad` skips it instead and
 *   reports it on stderr (and in the `--json` summary).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import type { HappenEvent } from '../../core/event.ts';
import { parseEvent } from '../../core/event-shape.ts';
import type { LoggedEvent } from '../../storage/event-log.ts';
import { integer, parseCommand, typePattern, type Command } from '../args.ts';
import { loadConfig } from '../config.ts';
import { formatLogLine, LOG_DIR } from '../dev-log.ts';
import { CliError, createOutput, usageError, type Io } from '../output.ts';

/** What `happen log export --json` prints. */
export interface LogExportResult {
  /** Events written. */
  exported: number;
  /** Input lines not written: `filtered` + `duplicates` + `malformed.length`. */
  skipped: number;
  /** Events the filters left out. */
  filtered: number;
  /** Events already exported from another log (or earlier in the same one). */
  duplicates: number;
  /** Lines skipped with --skip-bad. */
  malformed: Array<{ file: string; line: number; message: string }>;
  /** The logs read (absolute paths). */
  files: string[];
  /** The file written (absolute), or `null` for stdout. */
  out: string | null;
}

const USAGE = `Usage: happen log export [--log <file>...] [--node <id>...] [--type <pattern>] [--correlation <id>]
                         [--from <n>] [--to <n>] [--since <time>] [--until <time>]
                         [--out <file>] [--skip-bad] [--json]

Exports the event logs happen dev records (${LOG_DIR}/<node>.jsonl in the project) as one log:
filtered, merged across nodes in event-id order (ids are time-sortable; each log keeps its own
order), every event once (one recorded by two nodes is written once), numbered 1, 2, ... afresh.
The output is what happen replay --log reads:

  happen log export --node orders --since 2025-01-31T12:00Z --out orders.jsonl
  happen replay --log orders.jsonl --node src/nodes/orders.ts

Options:
  --log <file>...      the logs to read instead of ${LOG_DIR}/*.jsonl (repeatable; more files may
                       follow as arguments), e.g. ${LOG_DIR}.previous/*.jsonl for the last run's
  --node <id>          only this node's log: the events it handled (repeatable)
  --type <pattern>     only these event types, as on() takes them: order.created, order.*,
                       order.**, {order,payment}.created
  --correlation <id>   only the events of one flow
  --from <n>           only from this sequence number of each log (each node numbers its own)
  --to <n>             only up to this sequence number of each log
  --since <time>       only events emitted at or after this time: ISO (2025-01-31T12:00:00Z)
                       or milliseconds since 1970
  --until <time>       only events emitted at or before this time
  --out <file>         write here (replacing it) instead of stdout
  --skip-bad           skip malformed lines, reporting each on stderr; without it one fails the
                       export (exit 1, file:line named) before anything is written
  --json               print {"exported", "skipped", "filtered", "duplicates", "malformed",
                       "files", "out"} on stdout; needs --out

Progress goes to stderr.`;

/** `happen log`: the recorded event logs. Its one subcommand is `export`. */
export const log: Command = {
  name: 'log',
  summary: 'export recorded event logs, filtered and merged, as a log happen replay reads',
  usage: USAGE,
  run(args, io) {
    const [sub, ...rest] = args;
    if (sub === undefined || sub.startsWith('-')) throw usageError('missing subcommand: happen log export [options]');
    if (sub !== 'export') throw usageError(`unknown subcommand ${JSON.stringify(sub)} (happen log has: export)`);
    return exportLogs(rest, io);
  },
};

const OPTIONS = {
  log: { type: 'string', short: 'l', multiple: true },
  node: { type: 'string', multiple: true },
  type: { type: 'string', short: 't' },
  correlation: { type: 'string', short: 'c' },
  from: { type: 'string' },
  to: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  out: { type: 'string', short: 'o' },
  'skip-bad': { type: 'boolean' },
} as const;

/** One input log, read. */
interface Input {
  file: string;
  shown: string;
  lines: string[];
}

function exportLogs(args: string[], io: Io): number {
  const { values, positionals } = parseCommand(args, OPTIONS, Number.POSITIVE_INFINITY);
  const json = values.json === true;
  const out = createOutput(io, json);
  const from = integer('from', values.from, 1, Number.MAX_SAFE_INTEGER);
  const to = integer('to', values.to, 1, Number.MAX_SAFE_INTEGER);
  if (from !== undefined && to !== undefined && from > to) throw usageError(`--from (${from}) must not be after --to (${to})`);
  const since = instant('since', values.since);
  const until = instant('until', values.until);
  if (since !== undefined && until !== undefined && since > until) throw usageError(`--since (${values.since}) must not be after --until (${values.until})`);
  const type = typePattern(values.type);
  const correlation = values.correlation;
  if (correlation === '') throw usageError('--correlation needs a correlation id');
  const nodes = values.node ?? [];
  if (nodes.includes('')) throw usageError('--node needs a node id');
  if (json && values.out === undefined) throw usageError('--json prints the summary on stdout, so the events need --out <file>');
  if (values.out === '') throw usageError('--out needs a file');
  const skipBad = values['skip-bad'] === true;

  const shown = (file: string) => relative(io.cwd, file) || basename(file);
  const outFile = values.out === undefined ? undefined : resolve(io.cwd, values.out);
  const named = [...(values.log ?? []), ...positionals];
  let files = named.length > 0 ? named.map((f) => resolve(io.cwd, f)) : defaultLogs(io, shown);
  if (nodes.length > 0) {
    const wanted = new Set(nodes);
    const present = new Set(files.map(nodeOf));
    const missing = nodes.find((n) => !present.has(n));
    if (missing !== undefined) {
      const logs = [...present].map((n) => JSON.stringify(n)).join(', ') || 'none';
      throw new CliError('LOG_NOT_FOUND', `no log of node ${JSON.stringify(missing)} among the logs read (a node's log is <node>.jsonl; these are of: ${logs})`, 1, { node: missing });
    }
    files = files.filter((f) => wanted.has(nodeOf(f)));
  }
  const inputs = [...new Set(files)].map((file): Input => ({ file, shown: shown(file), lines: readLines(file, shown(file)) }));

  // Read every line first (the progress bar's steps), so a bad line fails before anything is written.
  const total = inputs.reduce((n, input) => n + input.lines.filter((l) => l.trim() !== '').length, 0);
  const progress = out.progress(`reading ${inputs.length} log${plural(inputs.length)}`, total);
  const malformed: LogExportResult['malformed'] = [];
  let filtered = 0;
  const kept: HappenEvent[][] = [];
  for (const input of inputs) {
    const events: HappenEvent[] = [];
    let last = 0;
    for (let i = 0; i < input.lines.length; i++) {
      const line = input.lines[i]!.trim();
      if (line === '') continue;
      progress.tick();
      const parsed = parseLine(line, last);
      if (typeof parsed === 'string') {
        const where = `${input.shown}:${i + 1}`;
        if (!skipBad) {
          progress.done(`export stopped at ${where}`);
          throw new CliError('INVALID_LOG', `${where}: ${parsed} (--skip-bad skips such lines)`, 1, { file: input.file, line: i + 1 });
        }
        malformed.push({ file: input.file, line: i + 1, message: parsed });
        // Reported after the progress bar, which owns the terminal line meanwhile.
        continue;
      }
      last = parsed.sequence;
      const { event } = parsed;
      const keep =
        (from === undefined || parsed.sequence >= from) &&
        (to === undefined || parsed.sequence <= to) &&
        (since === undefined || event.context.causal.timestamp >= since) &&
        (until === undefined || event.context.causal.timestamp <= until) &&
        (type === undefined || type(event.type)) &&
        (correlation === undefined || event.context.causal.correlationId === correlation);
      if (keep) events.push(event);
      else filtered++;
    }
    kept.push(events);
  }
  progress.done(`read ${total} line${plural(total)} from ${inputs.length} log${plural(inputs.length)}`);
  for (const bad of malformed) io.stderr.write(`happen log export: skipped ${shown(bad.file)}:${bad.line}: ${bad.message}\n`);

  const { events, duplicates } = merge(kept);
  const text = events.map((event, i) => `${formatLogLine({ sequence: i + 1, event })}\n`);
  if (outFile !== undefined) {
    try {
      writeFileSync(outFile, text.join(''));
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error instanceof Error ? error.message : String(error));
      throw new CliError('OUT_UNWRITABLE', `${shown(outFile)} cannot be written (${code})`, 1, { file: outFile }, 'runtime');
    }
  } else {
    for (let i = 0; i < text.length; i += CHUNK) io.stdout.write(text.slice(i, i + CHUNK).join(''));
  }

  const result: LogExportResult = {
    exported: events.length,
    skipped: filtered + duplicates + malformed.length,
    filtered,
    duplicates,
    malformed,
    files: inputs.map((i) => i.file),
    out: outFile ?? null,
  };
  const reasons = [
    ...(filtered > 0 ? [`${filtered} filtered out`] : []),
    ...(duplicates > 0 ? [`${duplicates} duplicate${plural(duplicates)}`] : []),
    ...(malformed.length > 0 ? [`${malformed.length} malformed`] : []),
  ];
  const human = `Exported ${events.length} event${plural(events.length)} from ${inputs.length} log${plural(inputs.length)} to ${outFile === undefined ? 'stdout' : shown(outFile)}${reasons.length > 0 ? ` (skipped ${reasons.join(', ')})` : ''}.`;
  // Without --out stdout carries the events: the summary goes with the progress, to stderr.
  if (outFile === undefined) io.stderr.write(`${human}\n`);
  else out.result(result, human);
  return 0;
}

const CHUNK = 1_000;

/** The project's recorded logs: `.happen/log/*.jsonl`, by name. */
function defaultLogs(io: Io, shown: (file: string) => string): string[] {
  const dir = join(loadConfig(io).root, LOG_DIR);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.jsonl'));
  } catch {
    names = [];
  }
  if (names.length === 0) throw new CliError('NO_LOGS', `no logs in ${shown(dir)} (happen dev records them there; name other files with --log)`, 1, { dir });
  return names.sort().map((n) => join(dir, n));
}

/** The node whose log a file is, as happen dev names them (`<encoded id>.jsonl`). */
function nodeOf(file: string): string {
  const name = basename(file).replace(/\.jsonl$/, '');
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

function readLines(file: string, shown: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n');
  } catch {
    throw new CliError('LOG_NOT_FOUND', `${shown} cannot be read (does it exist?)`, 1, { file });
  }
}

/** One line as happen replay reads it (see ../dev-log.ts), or why it is not one. */
function parseLine(line: string, last: number): LoggedEvent | string {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  const wrapped = typeof raw === 'object' && raw !== null && 'event' in raw && 'sequence' in raw;
  const sequence = wrapped ? (raw as { sequence: unknown }).sequence : last + 1;
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence <= last) {
    return `sequence must be an integer greater than the previous line's (${last}), got ${JSON.stringify(sequence)}`;
  }
  try {
    return { sequence, event: parseEvent(wrapped ? (raw as { event: unknown }).event : raw) };
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Interleaves the logs by event id, each log's own order kept (a node's events stay in the order it
 * handled them, even where two ids of one millisecond sort the other way); an id seen before is dropped.
 */
function merge(logs: HappenEvent[][]): { events: HappenEvent[]; duplicates: number } {
  const at = logs.map(() => 0);
  const seen = new Set<string>();
  const events: HappenEvent[] = [];
  let duplicates = 0;
  for (;;) {
    let next = -1;
    for (let i = 0; i < logs.length; i++) {
      const head = logs[i]![at[i]!];
      if (head !== undefined && (next === -1 || head.id < logs[next]![at[next]!]!.id)) next = i;
    }
    if (next === -1) return { events, duplicates };
    const event = logs[next]![at[next]!++]!;
    if (seen.has(event.id)) duplicates++;
    else {
      seen.add(event.id);
      events.push(event);
    }
  }
}

/** Reads `--since` / `--until`: an ISO time or milliseconds since 1970. */
function instant(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isSafeInteger(ms)) throw usageError(`--${flag} must be an ISO time (2025-01-31T12:00:00Z) or milliseconds since 1970 (got ${JSON.stringify(value)})`);
  return ms;
}

function plural(n: number): string {
  return n === 1 ? '' : 's';
}
