/** The system-wide metric families: node health gauges, firing alerts, and the mesh's queue, dead letters, peers and frames. */
import type { Mesh } from '../mesh/mesh.ts';
import type { MetricFamily } from './ops-contract.ts';
import type { Tracer } from './tracing.ts';

/** The mesh as observability reads it (any `mesh()`; found among the system's extensions). */
export type MeshView = Pick<Mesh, 'queue' | 'deadLetters' | 'peers' | 'nodes' | 'stats'>;

/** Whether an extension is a mesh (duck-typed: core keeps extensions opaque). */
export function isMesh(extension: unknown): extension is MeshView {
  const e = extension as Partial<MeshView> | null;
  return typeof e === 'object' && e !== null && typeof e.queue === 'function' && typeof e.peers === 'function' && typeof e.nodes === 'function' && 'deadLetters' in e;
}

/** What a node's gauges are made of. */
export interface NodeGauge {
  node: string;
  errorRate: number;
  avgLatencyMs: number;
  lastSeen: number;
}

/** Gauges of each node's health window. */
export function nodeFamilies(nodes: NodeGauge[]): MetricFamily[] {
  const gauge = (name: string, help: string, pick: (n: NodeGauge) => number): MetricFamily => ({
    name,
    help,
    type: 'gauge',
    samples: nodes.map((n) => ({ labels: { node: n.node }, value: pick(n) })),
  });
  return [
    gauge('happen_node_error_rate', 'Failures per handling over the health window (0..1).', (n) => n.errorRate),
    gauge('happen_node_avg_latency_seconds', 'Mean timed handler duration over the health window.', (n) => n.avgLatencyMs / 1000),
    gauge('happen_node_last_seen_timestamp_seconds', 'When the node last handled or emitted an event (Unix seconds; 0 = never).', (n) => n.lastSeen / 1000),
  ];
}

/** One sample per firing (rule, node). */
export function alertFamily(firing: Array<{ rule: string; node: string }>): MetricFamily {
  return {
    name: 'happen_alert_firing',
    help: 'Alert rules firing now, by rule and node (1 while firing).',
    type: 'gauge',
    samples: firing.map((f) => ({ labels: { rule: f.rule, node: f.node }, value: 1 })),
  };
}

/** The system's nodes, and what its mesh knows: peers, the durable queue, dead letters, frames. */
export function meshFamilies(localNodes: number, mesh: MeshView | undefined, deadLetters: number, deadLettersTotal: number): MetricFamily[] {
  const one = (name: string, help: string, type: MetricFamily['type'], value: number): MetricFamily => ({ name, help, type, samples: [{ labels: {}, value }] });
  const queue = mesh?.queue() ?? { depth: 0, oldestAgeMs: 0 };
  const stats = mesh?.stats ?? { framesIn: 0, framesOut: 0, rejected: 0, duplicates: 0 };
  const remote = mesh ? mesh.nodes().filter((n) => !n.local).length : 0;
  return [
    {
      name: 'happen_nodes',
      help: 'Live nodes: hosted here (local) or announced by peers (remote).',
      type: 'gauge',
      samples: [
        { labels: { where: 'local' }, value: localNodes },
        { labels: { where: 'remote' }, value: remote },
      ],
    },
    one('happen_peers', 'Other systems of the mesh heard from.', 'gauge', mesh ? mesh.peers().length : 0),
    one('happen_queue_depth', 'Events in the durable outbox not yet acknowledged.', 'gauge', queue.depth),
    one('happen_queue_oldest_age_seconds', 'Age of the oldest event in the durable outbox.', 'gauge', queue.oldestAgeMs / 1000),
    one('happen_dead_letters', 'Dead letters waiting to be redriven or discarded.', 'gauge', deadLetters),
    one('happen_dead_letters_total', 'Events durable delivery gave up on since the system started.', 'counter', deadLettersTotal),
    one('happen_mesh_frames_in_total', 'Frames received from the mesh.', 'counter', stats.framesIn),
    one('happen_mesh_frames_out_total', 'Frames sent to the mesh.', 'counter', stats.framesOut),
    one('happen_mesh_frames_rejected_total', 'Frames refused: malformed, too large, unknown version.', 'counter', stats.rejected),
    one('happen_mesh_duplicates_total', 'Events that arrived twice and were dropped.', 'counter', stats.duplicates),
  ];
}

/** The tracer's own counters. */
export function tracerFamilies(tracer: Tracer): MetricFamily[] {
  const stats = tracer.stats();
  const counter = (name: string, help: string, value: number): MetricFamily => ({ name, help, type: 'counter', samples: [{ labels: {}, value }] });
  return [
    counter('happen_trace_spans_total', 'Sampled spans ended and handed to the exporters.', stats.spans),
    counter('happen_trace_invalid_traceparents_total', 'Events carrying a traceparent that was not valid W3C (ignored).', stats.invalidTraceparents),
    counter('happen_trace_exporter_errors_total', 'Span exporter calls that threw.', stats.exporterErrors),
  ];
}
