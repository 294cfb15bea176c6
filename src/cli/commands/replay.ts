/**
 * `happen replay --log FILE --node MODULE [--from N] [--to N] [--json]`: rebuilds a node's state from
 * an event log. Loads the node module's setup into a fresh in-memory system, runs the log's events
 * (the sequence range asked for) through `node.replay()` — effects suppressed, as the first run had
 * them — with a progress bar, and prints the state they leave.
 */
import { basename, relative, resolve } from 'node:path';
import { createHappen } from '../../core/index.ts';
import type { HappenEvent } from '../../core/event.ts';
import type { HappenNode } from '../../core/node-api.ts';
import { integer, parseCommand, type Command } from '../args.ts';
import { loadConfig } from '../config.ts';
import { LOG_DIR, readLog } from '../dev-log.ts';
import { CliError, createOutput, usageError } from '../output.ts';
import { importNodeModule } from '../ts-loader.ts';

/** What `happen replay --json` prints. */
export interface ReplayResult {
  log: string;
  module: string;
  node: string;
  /** The sequence range replayed (`null` when the log held none in range). */
  from: number | null;
  to: number | null;
  /** Events in the range. */
  events: number;
  /** Of those, how many reached a handler of the node. */
  handled: number;
  state: unknown;
}

/** `happen replay`: a node's state rebuilt from an event log. */
export const replay: Command = {
  name: 'replay',
  summary: "rebuild a node's state by replaying a range of an event log into it",
  usage: `Usage: happen replay --log <file> --node <module> [--from <n>] [--to <n>] [--json]

Loads the node module (its default export, (happen) => node) into a fresh in-memory system, replays
the log's events from sequence --from to --to through the node's handlers (what they emit or send is
suppressed: it happened the first time), and prints the state the node is left with.

The log is JSON Lines: one {"sequence": n, "event": {...}} (an EventLog entry) or one bare event per
line. happen dev records every event a node handles in ${LOG_DIR}/<node>.jsonl.

Options:
  --log <file>     the event log
  --node <module>  the node module, e.g. src/nodes/orders.ts
  --from <n>       the first sequence to replay (default: the log's first)
  --to <n>         the last sequence to replay (default: the log's last)
  --json           print {"log", "module", "node", "from", "to", "events", "handled", "state"}`,
  async run(args, io) {
    const { values } = parseCommand(args, { log: { type: 'string', short: 'l' }, node: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } });
    const out = createOutput(io, values.json === true);
    if (values.log === undefined) throw usageError(`--log is required: the event log to replay (happen dev writes ${LOG_DIR}/<node>.jsonl)`);
    if (values.node === undefined) throw usageError('--node is required: the node module to replay into, e.g. src/nodes/orders.ts');
    const from = integer('from', values.from, 1, Number.MAX_SAFE_INTEGER);
    const to = integer('to', values.to, 1, Number.MAX_SAFE_INTEGER);
    if (from !== undefined && to !== undefined && from > to) throw usageError(`--from (${from}) must not be after --to (${to})`);

    const logFile = resolve(io.cwd, values.log);
    const moduleFile = resolve(io.cwd, values.node);
    const shown = (file: string) => relative(io.cwd, file) || basename(file);
    const entries = readLog(logFile, shown(logFile)).filter((e) => (from === undefined || e.sequence >= from) && (to === undefined || e.sequence <= to));

    const setup = await importNodeModule(moduleFile, loadConfig(io).root);
    // Its own system id: the node's events are not mistaken for a live system's.
    const happen = createHappen({ id: 'happen.replay' });
    let node: HappenNode;
    try {
      node = await setup(happen);
      await node.ready;
    } catch (error) {
      throw new CliError('NODE_SETUP_FAILED', `${shown(moduleFile)}: its setup failed: ${error instanceof Error ? error.message : String(error)}`, 1, { file: moduleFile }, 'runtime');
    }
    if (node === undefined || node === null || typeof (node as Partial<HappenNode>).replay !== 'function') {
      throw new CliError('NODE_MODULE_INVALID', `${shown(moduleFile)}: its default export must return the node it creates`, 1, { file: moduleFile });
    }

    const progress = out.progress(`replaying into ${node.id}`, entries.length);
    async function* events(): AsyncGenerator<HappenEvent> {
      for (const entry of entries) {
        yield entry.event;
        progress.tick(); // the node has finished the event when it asks for the next one
      }
    }
    let handled: number;
    try {
      handled = await node.replay(events());
    } catch (error) {
      progress.done(`replay into ${node.id} stopped`);
      throw new CliError('REPLAY_FAILED', `replaying ${shown(logFile)} into ${node.id} failed: ${error instanceof Error ? error.message : String(error)}`, 1, undefined, 'runtime');
    }
    await happen.settled();
    const range = entries.length === 0 ? undefined : { from: entries[0]!.sequence, to: entries.at(-1)!.sequence };
    progress.done(`replayed ${entries.length} event${entries.length === 1 ? '' : 's'} into ${node.id}`);
    const state = node.state.get();
    const result: ReplayResult = { log: logFile, module: moduleFile, node: node.id, from: range?.from ?? null, to: range?.to ?? null, events: entries.length, handled, state };
    out.result(
      result,
      [
        range === undefined
          ? `${shown(logFile)} holds no events${from !== undefined || to !== undefined ? ' in that range' : ''}: ${node.id} keeps its initial state.`
          : `Replayed events ${range.from}-${range.to} of ${shown(logFile)} into ${node.id}: ${entries.length} event${entries.length === 1 ? '' : 's'}, ${handled} handled.`,
        'State:',
        JSON.stringify(state, null, 2) ?? 'undefined',
      ].join('\n'),
    );
    return 0;
  },
};
