/**
 * `happen tail [--hub URL] [--mesh M] [--type PATTERN] [--correlation ID] [--node ID] [--last N]
 * [--count N] [--json]`: prints a mesh's live events as the hub relays them, one line each (one JSON
 * object per line with `--json`), until Ctrl-C or `--count` events.
 */
import { integer, parseCommand, type Command } from '../args.ts';
import { eventLine } from '../event-print.ts';
import { hubTarget } from '../hub-client.ts';
import { followEvents, matcherOf } from '../hub-events.ts';
import type { Io } from '../output.ts';
import type { TappedEvent } from '../../observe/dashboard.ts';

/** The options `tail` and `inspect` share. */
export const FOLLOW_OPTIONS = {
  hub: { type: 'string' },
  mesh: { type: 'string' },
  type: { type: 'string', short: 't' },
  correlation: { type: 'string', short: 'c' },
  node: { type: 'string' },
  last: { type: 'string', short: 'n' },
  count: { type: 'string' },
} as const;

/** Their help lines. */
export const FOLLOW_HELP = `  --hub <url>          the hub (default: happen.config.json's hub.url, else the local hub);
                       http(s):// or ws(s)://, a /mesh/<name> path names the mesh
  --mesh <mesh>        the mesh (default: happen.config.json's mesh)
  --type <pattern>     only these event types, as on() takes them: order.created, order.*,
                       order.**, {order,payment}.created
  --correlation <id>   only the events of one flow (one correlation id)
  --node <id>          only events sent by or addressed to this node
  --last <n>           first print the last n matching events the hub kept (default 0)
  --count <n>          exit after n events`;

/** Tells on stderr how following goes: where it is connected, breaks, and events dropped for a slow reader. */
export function followStatus(io: Io, command: string, where: string) {
  let lost = false; // say it once per outage, not once per attempt
  return (status: { kind: 'connected' } | { kind: 'reconnecting'; reason: string } | { kind: 'gap'; dropped: number }) => {
    if (status.kind === 'connected') io.stderr.write(`happen ${command}: ${lost ? 'reconnected, ' : ''}following ${where}\n`);
    else if (status.kind === 'reconnecting' && !lost) io.stderr.write(`happen ${command}: lost the hub (${status.reason}); reconnecting until it is back\n`);
    else if (status.kind === 'gap') io.stderr.write(`happen ${command}: the hub dropped ${status.dropped} events (this terminal reads too slowly)\n`);
    lost = status.kind === 'reconnecting' || (lost && status.kind === 'gap');
  };
}

/** `happen tail`: live events, one line each. */
export const tail: Command = {
  name: 'tail',
  summary: "print a mesh's live events, filtered by type pattern, node or correlation id",
  usage: `Usage: happen tail [--hub <url>] [--mesh <mesh>] [--type <pattern>] [--correlation <id>]
                   [--node <id>] [--last <n>] [--count <n>] [--json]

Prints the events the hub relays between systems as they happen, one line each:
time, type, sender → target (* for a broadcast), error code, payload preview, correlation id.
Events that stay inside one system never reach the hub, so they are not shown.

Options:
${FOLLOW_HELP}
  --json               one JSON object per line: {id, type, system, sender, target, targetSystem,
                       causationId, correlationId, timestamp, seenAt, frames, durable, error, payload}

Set HAPPEN_SECRET when the hub has one: tail mints a dashboard token from it.`,
  async run(args, io) {
    const { values } = parseCommand(args, FOLLOW_OPTIONS);
    const json = values.json === true;
    const last = integer('last', values.last, 0, 2_000);
    const count = integer('count', values.count, 1, Number.MAX_SAFE_INTEGER);
    const query = { type: values.type, node: values.node, correlationId: values.correlation };
    matcherOf(query); // a bad pattern is a usage error before anything connects
    const target = await hubTarget(io, { hub: values.hub, mesh: values.mesh });
    let printed = 0;
    await followEvents(
      target,
      { ...query, ...(last !== undefined ? { last } : {}), signal: io.signal, onStatus: followStatus(io, 'tail', `mesh ${target.mesh} on ${target.url}`) },
      (event: TappedEvent) => {
        io.stdout.write(`${json ? JSON.stringify(event) : eventLine(event)}\n`);
        return count !== undefined && ++printed >= count;
      },
    );
    return 0;
  },
};
