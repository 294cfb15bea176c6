/**
 * The event-log file format `happen replay` reads and `happen dev` writes: JSON Lines, one event per
 * line, either a `LoggedEvent` (`{"sequence": 7, "event": {...}}`, what `EventLog.read()` returns, so
 * any log exports as `entries.map(JSON.stringify).join('\n')`) or a bare `HappenEvent`, numbered by
 * its line. Blank lines are skipped; sequences must increase. Payloads are what JSON can carry.
 *
 * `happen dev` records every event that reaches a node's handlers in `.happen/log/<node>.jsonl`,
 * numbering on across the node's restarts; each run of `happen dev` moves the last run's logs to
 * `.happen/log.previous/`.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { HappenEvent } from '../core/event.ts';
import { parseEvent } from '../core/event-shape.ts';
import type { LoggedEvent } from '../storage/event-log.ts';
import { CliError } from './output.ts';

/** Where `happen dev` records, relative to the project root. */
export const LOG_DIR = '.happen/log';

/** The log file of one node under `dir` (the id escaped: node ids may hold `/`). */
export function logFileOf(dir: string, nodeId: string): string {
  return join(dir, `${encodeURIComponent(nodeId)}.jsonl`);
}

/** One line of a log file. */
export function formatLogLine(entry: LoggedEvent): string {
  return JSON.stringify({ sequence: entry.sequence, event: entry.event });
}

/** Starts a fresh recording in `dir`: the previous run's logs move to `<dir>.previous` (replacing older ones). */
export function rotateLogs(dir: string): void {
  if (existsSync(dir)) {
    const previous = `${dir}.previous`;
    rmSync(previous, { recursive: true, force: true });
    renameSync(dir, previous);
  }
  mkdirSync(dir, { recursive: true });
}

/** Appends the events one node handles to its log file, numbering on from what the file holds. */
export class LogRecorder {
  #sequence: number;

  constructor(readonly file: string) {
    // A restarted node continues its log: count what the crashed run wrote (dev logs are small).
    this.#sequence = existsSync(file) ? lastSequence(readFileSync(file, 'utf8')) : 0;
  }

  /** Appends one event; synchronous, so a crash right after never loses an event the node saw. */
  append(event: HappenEvent): number {
    const sequence = ++this.#sequence;
    appendFileSync(this.file, `${formatLogLine({ sequence, event })}\n`);
    return sequence;
  }
}

function lastSequence(text: string): number {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const last = lines.at(-1);
  if (last === undefined) return 0;
  try {
    const sequence = (JSON.parse(last) as { sequence?: unknown }).sequence;
    return typeof sequence === 'number' ? sequence : lines.length;
  } catch {
    return lines.length; // a line cut short by a crash: count it, a reader reports it
  }
}

/**
 * Parses a log file's text. Throws `INVALID_LOG` naming the line (and the field) that is not an
 * event, and when sequences do not increase.
 */
export function parseLog(text: string, source: string): LoggedEvent[] {
  const out: LoggedEvent[] = [];
  const lines = text.split('\n');
  let last = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const where = `${source} line ${i + 1}`;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw new CliError('INVALID_LOG', `${where} is not JSON`, 1, { line: i + 1 });
    }
    const wrapped = typeof raw === 'object' && raw !== null && 'event' in raw && 'sequence' in raw;
    const sequence = wrapped ? (raw as { sequence: unknown }).sequence : last + 1;
    if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence <= last) {
      throw new CliError('INVALID_LOG', `${where}: sequence must be an integer greater than the previous line's (${last}), got ${JSON.stringify(sequence)}`, 1, { line: i + 1 });
    }
    let event: HappenEvent;
    try {
      event = parseEvent(wrapped ? (raw as { event: unknown }).event : raw);
    } catch (error) {
      throw new CliError('INVALID_LOG', `${where}: ${error instanceof Error ? error.message : String(error)}`, 1, { line: i + 1 });
    }
    out.push({ sequence, event });
    last = sequence;
  }
  return out;
}

/** Reads and parses a log file; a missing file is `LOG_NOT_FOUND`. */
export function readLog(file: string, source = file): LoggedEvent[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new CliError('LOG_NOT_FOUND', `${source} cannot be read (does it exist?)`, 1, { file });
  }
  return parseLog(text, source);
}
