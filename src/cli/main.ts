#!/usr/bin/env node
/**
 * The `happen` command: finds the command named by the first argument in commands/index.ts, hands it
 * the rest and the process's streams, and turns what it throws into one line on stderr (a JSON
 * document with `--json`) and an exit code: 2 for usage errors, 1 for other failures.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../version.ts';
import { wantsHelp, wantsJson } from './args.ts';
import { commands } from './commands/index.ts';
import { createOutput, reportError, usageError, type Io } from './output.ts';

/** The text of `happen help`. */
export function helpText(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 10) + 2;
  return [
    `happen ${VERSION}: the Happen event-mesh runtime's command line`,
    '',
    'Usage: happen <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    `  ${'help [cmd]'.padEnd(width)}this text, or a command's help (also: happen <cmd> --help)`,
    `  ${'--version'.padEnd(width)}print the version`,
    '',
    'Every command takes --json for scripts: its result as one JSON document on stdout, except the',
    'streaming ones (dev, tail, inspect while it follows), which print one JSON object per line.',
    'Errors are one JSON line on stderr; progress goes to stderr too.',
    '',
    'Settings: happen.config.json, with HAPPEN_MESH, HAPPEN_HUB_PORT, HAPPEN_HUB_URL, HAPPEN_SECRET overriding it.',
  ].join('\n');
}

/** Runs the CLI with `argv` (the arguments after `happen`); resolves to the exit code. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  const json = wantsJson(argv);
  const out = createOutput(io, json);
  if (name === '--version' || name === '-v') {
    out.result({ version: VERSION }, VERSION);
    return 0;
  }
  if (name === undefined || name === 'help' || name === '--help' || name === '-h' || (name === '--json' && rest.length === 0)) {
    const asked = name === 'help' ? rest.find((a) => !a.startsWith('-')) : undefined;
    const topic = commands.find((c) => c.name === asked);
    if (asked !== undefined && topic === undefined) return reportError(io, undefined, unknownCommand(asked), json);
    out.result({ version: VERSION, commands: commands.map((c) => ({ name: c.name, summary: c.summary })) }, topic?.usage ?? helpText());
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    return reportError(io, undefined, unknownCommand(name), json);
  }
  if (wantsHelp(rest)) {
    out.result({ name: command.name, summary: command.summary, usage: command.usage }, command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    return reportError(io, command.name, error, json);
  }
}

function unknownCommand(name: string) {
  return usageError(`unknown command ${JSON.stringify(name)} (try: happen help)`);
}

/** The process's Io: its streams and environment, and a signal aborted by the first Ctrl-C or SIGTERM. */
function processIo(): { io: Io; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    // The first signal asks the command to wind down; a second one means "now".
    if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    controller.abort(new Error(`received ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    io: { cwd: process.cwd(), env: process.env, stdout: process.stdout, stderr: process.stderr, signal: controller.signal },
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

// Run only as the program (bin, `node dist/cli/main.js`, `tsx src/cli/main.ts`), not when imported by a test.
// The bin is a symlink, so compare real paths.
function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const { io, dispose } = processIo();
  process.exitCode = await runCli(process.argv.slice(2), io);
  dispose();
}
