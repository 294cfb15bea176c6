/**
 * The ops contract: with observability on, every system hosts one ops node that answers these events
 * (send + `.return()`), so a hub, its dashboard or the CLI can ask any system of the mesh for its
 * health, metrics and dead letters without knowing where it runs.
 */
import type { SerializedError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';

/** The id of a system's ops node. */
export function opsNodeId(system: string): string {
  return `happen.ops.${system}`;
}

/** The event types an ops node answers. */
export const OPS_EVENTS = {
  /** payload `{}` → {@link SystemHealth} */
  health: 'ops.health',
  /** payload `{}` → {@link MetricsSnapshot} */
  metrics: 'ops.metrics',
  /** payload `{ limit?: number }` → {@link DeadLetterSummary}[] */
  deadLetters: 'ops.deadLetters.list',
  /** payload `{ key: string }` → `{ redriven: boolean }` */
  redrive: 'ops.deadLetters.redrive',
  /** payload `{ key: string }` → `{ discarded: boolean }` */
  discard: 'ops.deadLetters.discard',
} as const;

/** The health of one node as its system sees it. */
export interface NodeHealth {
  node: string;
  system: string;
  status: 'ok' | 'degraded' | 'failing';
  /** When the node last handled or emitted an event (ms since the epoch; 0 = never). */
  lastSeen: number;
  eventsIn: number;
  eventsOut: number;
  failures: number;
  /** Failures / handled events over the health window (0..1). */
  errorRate: number;
  /** Mean handler duration over the health window, in ms. */
  avgLatencyMs: number;
}

/** One system's health: its nodes, its durable queue and its peers. */
export interface SystemHealth {
  system: string;
  at: number;
  nodes: NodeHealth[];
  queue: { depth: number; oldestAgeMs: number };
  deadLetters: number;
  peers: number;
}

/** One metric sample: labels and a value (histograms: cumulative bucket counts, sum and count). */
export type MetricSample =
  | { labels: Record<string, string>; value: number }
  | { labels: Record<string, string>; buckets: Array<[le: number, count: number]>; sum: number; count: number };

/** A metric family, as Prometheus groups them. */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  samples: MetricSample[];
}

/** A system's metrics at one moment. */
export interface MetricsSnapshot {
  system: string;
  at: number;
  metrics: MetricFamily[];
}

/** A dead letter as the ops node lists it. */
export interface DeadLetterSummary {
  key: string;
  event: HappenEvent;
  system?: string;
  attempts: number;
  lastError?: SerializedError;
  deadAt: number;
}
