/** How `tail` and `inspect` show the events a hub relayed: one line each, a block with the causal context, or a flow's tree. */
import type { FlowGraph, TappedEvent } from '../observe/dashboard.ts';

/** `HH:MM:SS.mmm` in local time. */
export function clock(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

const route = (e: TappedEvent) => `${e.sender} → ${e.target ?? '*'}`;
const failed = (e: TappedEvent) => (e.error !== undefined ? `  ✗ ${e.error}` : '');

/** One line: time, type, route, error, payload preview, correlation id (`tail`). */
export function eventLine(e: TappedEvent): string {
  return `${clock(e.timestamp)}  ${e.type}  ${route(e)}${failed(e)}  ${e.payload}  (correlation ${e.correlationId})`;
}

/** A block with the event's causal context (`inspect`); `cause` is the causing event's type when it was seen. */
export function eventBlock(e: TappedEvent, cause: string | undefined): string {
  const at = (system: string | undefined) => (system === undefined ? '' : ` (${system})`);
  const rows: Array<[string, string]> = [
    ['id', e.id],
    ['route', `${e.sender}${at(e.system)} → ${e.target === undefined ? '* (broadcast)' : `${e.target}${at(e.targetSystem)}`}`],
    ['caused by', e.causationId === undefined || e.causationId === e.id ? '(nothing: it starts its flow)' : `${e.causationId}${cause === undefined ? '' : `  ${cause}`}`],
    ['correlation', e.correlationId],
  ];
  if (e.error !== undefined) rows.push(['error', e.error]);
  if (e.durable) rows.push(['delivery', `durable${e.frames > 1 ? `, sent ${e.frames} times` : ''}`]);
  rows.push(['payload', indentJson(e.payload, 15)]);
  return [`${e.type}  at ${clock(e.timestamp)}`, ...rows.map(([k, v]) => `  ${k.padEnd(12)} ${v}`)].join('\n');
}

/** A flow as a tree, each event under its cause, with times relative to the first (`inspect --correlation`). */
export function flowTree(graph: FlowGraph): string {
  const nodes = graph.nodes.map((n) => (n.system === undefined ? n.id : `${n.id} (${n.system})`)).join(', ');
  const start = Math.min(...graph.steps.map((s) => s.event.timestamp));
  const rows = graph.steps.map((s) => treeRow(s.event, s.depth, start));
  const width = Math.max(...rows.map((r) => r[0].length));
  return [
    `Flow ${graph.correlationId}: ${graph.steps.length} event${graph.steps.length === 1 ? '' : 's'} across ${nodes}`,
    ...rows.map(([left, right]) => `${left.padEnd(width)}  ${right}`),
  ].join('\n');
}

/** One row of a flow tree: the indented type and route, then the time offset, error and payload. */
export function treeRow(e: TappedEvent, depth: number, start: number): [string, string] {
  const branch = depth === 0 ? '' : `${'  '.repeat(depth - 1)}└ `;
  return [`  ${branch}${e.type}  ${route(e)}`, `+${e.timestamp - start} ms${failed(e)}  ${e.payload}`];
}

function indentJson(preview: string, by: number): string {
  try {
    return JSON.stringify(JSON.parse(preview), null, 2).replaceAll('\n', `\n${' '.repeat(by)}`);
  } catch {
    return preview; // cut at the preview limit: show it as it came
  }
}
