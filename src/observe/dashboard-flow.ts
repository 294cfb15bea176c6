/**
 * The causal flow map of one correlation id: the tapped events put in causal order (every event after
 * its cause, siblings by time) with the nodes they cross, ready to draw as boxes and arrows.
 */
import type { TappedEvent } from './tap.ts';

/** One event of a flow: an arrow from its sender to its target (`*` for a broadcast). */
export interface FlowStep {
  step: number;
  from: string;
  to: string;
  event: TappedEvent;
  /** How deep in the causal tree (0 for a root). */
  depth: number;
}

/** The flow map of one correlation id. */
export interface FlowGraph {
  correlationId: string;
  /** The nodes the flow crosses, in order of first appearance, with the system hosting each (when known). */
  nodes: Array<{ id: string; system?: string }>;
  steps: FlowStep[];
}

const byTime = (a: TappedEvent, b: TappedEvent) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Orders `events` (one correlation id) causally and lists the nodes they cross. */
export function flowGraph(correlationId: string, events: TappedEvent[]): FlowGraph {
  const ids = new Set(events.map((e) => e.id));
  const children = new Map<string, TappedEvent[]>();
  const roots: TappedEvent[] = [];
  for (const event of events) {
    // A cause the tap never saw (it stayed inside one system, or fell out of the ring) makes a root.
    if (event.causationId !== undefined && event.causationId !== event.id && ids.has(event.causationId)) {
      let list = children.get(event.causationId);
      if (!list) children.set(event.causationId, (list = []));
      list.push(event);
    } else roots.push(event);
  }
  const steps: FlowStep[] = [];
  const placed = new Set<string>();
  // Iterative depth-first walk: a deep chain must not overflow the stack.
  const walk = (from: TappedEvent[]) => {
    const stack: Array<[TappedEvent, number]> = [...from].sort(byTime).reverse().map((e) => [e, 0]);
    while (stack.length > 0) {
      const [event, depth] = stack.pop()!;
      if (placed.has(event.id)) continue;
      placed.add(event.id);
      steps.push({ step: steps.length, from: event.sender, to: event.target ?? '*', event, depth });
      const kids = children.get(event.id);
      if (kids) for (const kid of [...kids].sort(byTime).reverse()) stack.push([kid, depth + 1]);
    }
  };
  walk(roots);
  walk(events.filter((e) => !placed.has(e.id))); // forged causation cycles have no root: they still show
  const systems = new Map<string, string | undefined>();
  const note = (node: string, system: string | undefined) => {
    if (node === '*') return;
    if (!systems.has(node) || (systems.get(node) === undefined && system !== undefined)) systems.set(node, system);
  };
  for (const { event } of steps) {
    note(event.sender, event.system);
    if (event.target !== undefined) note(event.target, event.targetSystem);
  }
  const nodes = [...systems].map(([id, system]) => (system === undefined ? { id } : { id, system }));
  return { correlationId, nodes, steps };
}
