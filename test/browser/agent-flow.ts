/** Flattens a causal trace into rows a test can compare: `depth type (sender → target)`. */
import type { Trace, TraceNode } from '../../src/index.ts';

/** One line per event, depth-first, indented by depth. */
export function traceLines(trace: Trace): string[] {
  const lines: string[] = [];
  const walk = (node: TraceNode, depth: number) => {
    const { event } = node;
    lines.push(`${'  '.repeat(depth)}${event.type} (${event.context.causal.sender} → ${event.context.target ?? 'all'})`);
    for (const child of node.children) walk(child, depth + 1);
  };
  for (const root of trace.roots) walk(root, 0);
  return lines;
}
