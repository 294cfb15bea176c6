/**
 * Every `happen` command, in the order `happen help` lists them. A command is one file in this folder
 * exporting a `Command` (see ../args.ts); add it to this list and the dispatcher (../main.ts) finds it.
 */
import type { Command } from '../args.ts';
import { createNode } from './create-node.ts';
import { dev } from './dev.ts';
import { init } from './init.ts';
import { inspect } from './inspect.ts';
import { log } from './log-export.ts';
import { replay } from './replay.ts';
import { status } from './status.ts';
import { tail } from './tail.ts';

/** The registered commands. */
export const commands: readonly Command[] = [
  init,
  createNode,
  dev,
  tail,
  inspect,
  status,
  replay,
  log,
];
