/**
 * How a `happen` command is declared and how its arguments are read: node:util parseArgs (strict),
 * with every mistake turned into a usage error (exit code 2) that names the argument at fault.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { compilePattern } from '../core/pattern.ts';
import { usageError, type Io } from './output.ts';

/** One `happen` command: a file in src/cli/commands/ exporting it, registered in commands/index.ts. */
export interface Command {
  /** What the user types: `happen <name>`. */
  readonly name: string;
  /** One line for `happen help`. */
  readonly summary: string;
  /** What `happen <name> --help` prints, starting with `Usage: happen <name> ...`. */
  readonly usage: string;
  /**
   * Runs with the arguments after the command's name and resolves to the exit code. Throw a
   * `CliError` (`usageError(...)` for bad arguments) to fail with a one-line message.
   */
  run(args: string[], io: Io): Promise<number> | number;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** The options every command accepts. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean' },
} as const satisfies Options;

/** What {@link parseCommand} returns: typed option values and the positionals. */
export type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ options: O & typeof COMMON_OPTIONS; allowPositionals: true; strict: true }>>;

/**
 * Parses a command's arguments against its options (plus `--json`). At most `maxPositionals`
 * positionals are accepted (default none). Throws a usage error naming the bad argument.
 */
export function parseCommand<const O extends Options>(args: string[], options: O, maxPositionals = 0): Parsed<O> {
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args, options: { ...options, ...COMMON_OPTIONS } as O & typeof COMMON_OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError(describeParseError(error));
  }
  const extra = parsed.positionals[maxPositionals];
  if (extra !== undefined) throw usageError(`unexpected argument ${JSON.stringify(extra)}`);
  return parsed;
}

/** Whether the arguments ask for help (`--help` or `-h` before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  return flagBeforeSeparator(args, ['--help', '-h']);
}

/** Whether the arguments ask for JSON output (`--json` before any `--`). */
export function wantsJson(args: readonly string[]): boolean {
  return flagBeforeSeparator(args, ['--json']);
}

/** Checks a string option against its allowed values. */
export function oneOf<const T extends string>(flag: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw usageError(`--${flag} must be one of ${choices.join(', ')} (got ${JSON.stringify(value)})`);
}

/** The `--type` event pattern as a matcher (undefined when not given); a bad pattern is a usage error. */
export function typePattern(value: string | undefined): ((type: string) => boolean) | undefined {
  if (value === undefined) return undefined;
  try {
    return compilePattern(value);
  } catch (error) {
    throw usageError(`--type: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Reads a string option as an integer within `[min, max]`. */
export function integer(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw usageError(`--${flag} must be an integer between ${min} and ${max} (got ${JSON.stringify(value)})`);
  return n;
}

function flagBeforeSeparator(args: readonly string[], flags: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => flags.includes(a));
}

// parseArgs' messages are long and suggest `--` tricks; say what is wrong, with the option's name.
function describeParseError(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  // "Option '-t, --template <value>' argument missing": name the long form when there is one.
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const option = /--[A-Za-z0-9-]+/.exec(quoted)?.[0] ?? /-[A-Za-z0-9]/.exec(quoted)?.[0];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option ?? message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/argument missing/.test(message)) return `${option} needs a value`;
      if (/does not take an argument/.test(message)) return `${option} takes no value`;
      return message.split('\n', 1)[0]!;
    default:
      return message.split('\n', 1)[0]!;
  }
}
