/**
 * `happen inspect`: the events `tail` shows, each with its causal context (route with systems, the
 * event that caused it, its flow) — or, with `--correlation ID`, that flow as a causal tree from the
 * hub's recent events (`--follow` then adds its new events as they come).
 */
import { integer, parseCommand, type Command } from '../args.ts';
import { eventBlock, flowTree, treeRow } from '../event-print.ts';
import { getJson, hubTarget, meshApi } from '../hub-client.ts';
import { followEvents, matcherOf } from '../hub-events.ts';
import { CliError, createOutput, usageError } from '../output.ts';
import type { FlowGraph, TappedEvent } from '../../observe/dashboard.ts';
import { FOLLOW_HELP, FOLLOW_OPTIONS, followStatus } from './tail.ts';

/** How many event types are remembered to name the cause of a later event. */
const REMEMBERED = 10_000;

/** `happen inspect`: live events with their causal context, or one flow as a tree. */
export const inspect: Command = {
  name: 'inspect',
  summary: "show a mesh's live events with their causal context, or one flow's causal tree",
  usage: `Usage: happen inspect [--correlation <id> [--follow]] [--hub <url>] [--mesh <mesh>] [--type <pattern>]
                      [--node <id>] [--last <n>] [--count <n>] [--json]

Without --correlation: follows the mesh's events like happen tail, printing each with its causal
context — id, route (sender and target with their systems), the event that caused it, its
correlation id, error, delivery, and the payload.

With --correlation <id>: prints that flow as a tree, every event under the event that caused it,
from the events the hub keeps (it records while a dashboard, tail or inspect looks); --follow then
keeps printing its new events.

Options:
${FOLLOW_HELP}
  --follow             with --correlation: keep following the flow after its tree
  --json               the flow: {"correlationId", "nodes", "steps": [{step, from, to, depth, event}]};
                       following: one JSON object per line, {"event": {...}, "cause": {id, type} | null}`,
  async run(args, io) {
    const { values } = parseCommand(args, { ...FOLLOW_OPTIONS, follow: { type: 'boolean', short: 'f' } });
    const json = values.json === true;
    const out = createOutput(io, json);
    const last = integer('last', values.last, 0, 2_000);
    const count = integer('count', values.count, 1, Number.MAX_SAFE_INTEGER);
    if (values.follow && values.correlation === undefined) throw usageError('--follow goes with --correlation (without it inspect follows every event anyway)');
    const query = { type: values.type, node: values.node, correlationId: values.correlation };
    const matches = matcherOf(query);
    const target = await hubTarget(io, { hub: values.hub, mesh: values.mesh });
    const types = new Map<string, string>(); // event id → type, to name causes
    const remember = (e: TappedEvent) => {
      types.set(e.id, e.type);
      if (types.size > REMEMBERED) types.delete(types.keys().next().value!);
    };

    let depthOf: Map<string, number> | undefined;
    let start = 0;
    if (values.correlation !== undefined) {
      const graph = await getJson<FlowGraph>(target, meshApi(target, `trace/${encodeURIComponent(values.correlation)}`), io.signal);
      const steps = graph.steps.filter((s) => matches(s.event));
      if (!values.follow) {
        if (steps.length === 0) {
          throw new CliError('NO_SUCH_FLOW', `the hub holds no events of correlation ${values.correlation} in mesh ${target.mesh} (it records only while a dashboard, tail or inspect looks; try --follow)`, 1, { correlationId: values.correlation });
        }
        const shown = { ...graph, steps };
        out.result({ correlationId: shown.correlationId, nodes: shown.nodes, steps: shown.steps }, flowTree(shown));
        return 0;
      }
      if (steps.length > 0 && !json) io.stdout.write(`${flowTree({ ...graph, steps })}\n`);
      if (json) for (const s of steps) io.stdout.write(`${JSON.stringify({ event: s.event, cause: cause(s.event, types) })}\n`);
      depthOf = new Map(steps.map((s) => [s.event.id, s.depth]));
      start = steps.length > 0 ? Math.min(...steps.map((s) => s.event.timestamp)) : 0;
      for (const s of steps) remember(s.event);
    }

    let printed = 0;
    await followEvents(
      target,
      { ...query, ...(last !== undefined ? { last } : {}), signal: io.signal, onStatus: followStatus(io, 'inspect', `mesh ${target.mesh} on ${target.url}`) },
      (event) => {
        if (depthOf?.has(event.id)) return false; // already in the tree
        if (json) io.stdout.write(`${JSON.stringify({ event, cause: cause(event, types) })}\n`);
        else if (depthOf !== undefined) {
          // A flow's new event goes under its cause, when the cause is in the tree.
          const depth = event.causationId !== undefined && depthOf.has(event.causationId) ? depthOf.get(event.causationId)! + 1 : 0;
          depthOf.set(event.id, depth);
          if (start === 0) start = event.timestamp;
          const [left, right] = treeRow(event, depth, start);
          io.stdout.write(`${left}  ${right}\n`);
        } else io.stdout.write(`${eventBlock(event, cause(event, types)?.type ?? undefined)}\n\n`);
        remember(event);
        return count !== undefined && ++printed >= count;
      },
    );
    return 0;
  },
};

function cause(event: TappedEvent, types: Map<string, string>): { id: string; type: string | null } | null {
  if (event.causationId === undefined || event.causationId === event.id) return null;
  return { id: event.causationId, type: types.get(event.causationId) ?? null };
}
