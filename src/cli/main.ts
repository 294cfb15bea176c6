#!/usr/bin/env node
/**
 * The `happen` command. This first version knows its version and help; `init`, `create-node`,
 * `dev`, `inspect`, `tail` and `replay` arrive with the CLI issue and are listed as such.
 */
import { VERSION } from '../version.ts';

const PLANNED = ['init', 'create-node', 'dev', 'inspect', 'tail', 'replay'];

/** Runs the CLI with the given arguments; returns the exit code. */
export function main(args: string[]): number {
  const [command] = args;
  if (command === '--version' || command === '-v') {
    console.log(VERSION);
    return 0;
  }
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(`happen ${VERSION}\n\nUsage: happen <command>\n\n  --version   print the version\n  help        this text\n\nNot yet available: ${PLANNED.join(', ')}`);
    return 0;
  }
  console.error(PLANNED.includes(command) ? `happen ${command}: not available in ${VERSION} yet` : `happen: unknown command "${command}" (try: happen help)`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
