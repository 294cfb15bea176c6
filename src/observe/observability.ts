/**
 * `observability(options)`: the extension behind `createHappen({ observability })`. It counts and
 * times what every node handles and emits (per node and event type), keeps each node's health over a
 * sliding window, fires alert events when thresholds are crossed, and hosts the system's ops node.
 */
import { HappenError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';
import type { HappenExtension } from '../core/extension.ts';
import type { HappenNode } from '../core/node-api.ts';
import type { Happen } from '../core/system-api.ts';
import type { DeadLetters } from '../mesh/dead-letters.ts';
import { ALERT_EVENT, AlertEvaluator, compileRules, type AlertPayload, type AlertRule } from './alerts.ts';
import { healthSettings, nodeHealth, windowRates, type HealthOptions, type HealthSettings } from './health.ts';
import { DEFAULT_DURATION_BUCKETS_MS, MetricsRegistry } from './metrics.ts';
import { EmitCounter, fixedClocks, NodeProbe, runtimeClocks, type Clocks } from './metrics-node.ts';
import { alertFamily, isMesh, meshFamilies, nodeFamilies, tracerFamilies, type MeshView } from './metrics-system.ts';
import { opsNodeId, type MetricFamily, type MetricsSnapshot, type NodeHealth, type SystemHealth } from './ops-contract.ts';
import { createOpsNode } from './ops-node.ts';
import { createTracer, type Tracer, type TracingOptions } from './tracing.ts';
import { checkObject, describe, integerOption, invalidConfig, numberOption } from '../core/config-checks.ts';

/** Options for `observability({ metrics })`. */
export interface MetricsOptions {
  /** Handler-duration histogram bounds in ms, ascending (default 0.05 … 10,000). */
  buckets?: number[];
  /**
   * Times one handling in this many per node and type, the first always (default 8; 1 times every
   * one). Reading a clock costs about as much as a local delivery, so timing every event would double
   * what observability costs; counters and failures always count every event.
   */
  timingEvery?: number;
  /** Event types tracked per node; more are counted under the type `(other)` (default 200). */
  maxTypesPerNode?: number;
}

/** Options for {@link observability}. */
export interface ObservabilityOptions {
  /** Counters and histograms per node and event type (default on); `false` keeps only the ops node and tracing. */
  metrics?: boolean | MetricsOptions;
  /**
   * Tracing (W3C traceparent, OTLP/HTTP JSON spans): the options of `createTracer` (an `endpoint`
   * or an `exporter`), or a tracer made with it; `false` or absent for none.
   */
  tracing?: TracingOptions | Tracer | false;
  /** The share of traces sampled, 0..1 (default: the tracing options', else 1). */
  samplingRate?: number;
  /** The health window and status thresholds. */
  health?: HealthOptions;
  /** Alert rules on node health, reported as `observe.alert` events. */
  alerts?: AlertRule[];
  /** Host the ops node `happen.ops.<system>` (default true). */
  opsNode?: boolean;
  /** The system's mesh, for its queue, dead letters and peers (default: found among the system's extensions). */
  mesh?: MeshView;
  /** A clock (ms since the epoch) read for every timestamp and duration instead of the runtime's (tests). */
  now?: () => number;
}

/** The observability of one system. */
export interface Observability extends HappenExtension {
  /** The ops node, once attached (unless `opsNode: false`). */
  readonly opsNode: HappenNode | undefined;
  /** The system's tracer, when tracing is on. */
  readonly tracer: Tracer | undefined;
  /** Every metric family of the system now. */
  metrics(): Promise<MetricsSnapshot>;
  /** The health of the system and its nodes now. */
  health(): Promise<SystemHealth>;
  /** One node's health now (`undefined` for a node this system never hosted). */
  nodeHealth(node: string): NodeHealth | undefined;
  /** Checks the alert rules now (also done every `health.checkEveryMs`); returns and emits the changes. */
  checkAlerts(): AlertPayload[];
  /** The alerts firing now. */
  firingAlerts(): Array<{ rule: string; node: string; value: number }>;
  /** Stops the alert timer (and the tracer, if it can be closed). */
  close(): Promise<void>;
}

const KEYS = ['metrics', 'tracing', 'samplingRate', 'health', 'alerts', 'opsNode', 'mesh', 'now'] as const;
const OPS_ID = /^\S{1,128}$/;
const METRIC_KEYS = ['buckets', 'timingEvery', 'maxTypesPerNode'] as const;
const NO_DEAD_LETTERS: DeadLetters = { list: async () => [], get: async () => undefined, redrive: async () => false, discard: async () => false };

/**
 * Creates the observability extension of one system: `createHappen({ observability: observability({ ... }) })`
 * (or list it among `extensions`). Every node gets a middleware, outermost, that counts, catches and
 * (one in `timingEvery`) times each handling — retries inside it included — and, with tracing, traces
 * it in the same middleware (the tracer's own when it is not one `createTracer` made); the system's outgoing step
 * counts what nodes emit. Metric families: see `metrics()` (each has its HELP text). With alert rules a
 * timer checks them every `health.checkEveryMs`: call `close()` when the system goes away. Throws `INVALID_CONFIG`.
 */
export function observability(options: ObservabilityOptions = {}): Observability {
  const what = 'observability()';
  checkObject(what, options, KEYS);
  if (options.metrics !== undefined && typeof options.metrics !== 'boolean' && typeof options.metrics !== 'object') throw invalidConfig(what, `metrics must be a boolean or options (got ${describe(options.metrics)})`);
  const metricsOn = options.metrics !== false;
  const metricOptions = checkObject<MetricsOptions>('observability({ metrics })', typeof options.metrics === 'object' ? options.metrics : {}, METRIC_KEYS);
  const buckets = bucketsOption(metricOptions.buckets);
  const timingEvery = integerOption('observability({ metrics })', 'timingEvery', metricOptions.timingEvery, 1, 8);
  const maxTypes = integerOption('observability({ metrics })', 'maxTypesPerNode', metricOptions.maxTypesPerNode, 1, 200);
  numberOption(what, 'samplingRate', options.samplingRate, 0, 1, 1);
  const settings: HealthSettings = healthSettings(options.health);
  const tracer = tracerOption(options.tracing, options.samplingRate);
  if (options.opsNode !== undefined && typeof options.opsNode !== 'boolean') throw invalidConfig(what, `opsNode must be a boolean (got ${describe(options.opsNode)})`);
  if (options.mesh !== undefined && !isMesh(options.mesh)) throw invalidConfig(what, 'mesh must be a mesh() of this system');
  if (options.now !== undefined && typeof options.now !== 'function') throw invalidConfig(what, `now must be a function (got ${describe(options.now)})`);
  const clocks: Clocks = options.now ? fixedClocks(options.now) : runtimeClocks();
  const rules = compileRules(options.alerts, settings);
  const registry = new MetricsRegistry(buckets, maxTypes, { slotMs: settings.windowMs / settings.slots, slots: settings.slots });
  const counter = new EmitCounter(registry, options.now);

  let happen: Happen | undefined;
  let meshView: MeshView | undefined = options.mesh;
  let ops: HappenNode | undefined;
  let alerts: AlertEvaluator | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let deadLettersTotal = 0;

  const attached = (): Happen => {
    if (!happen) throw new HappenError('runtime', 'NOT_ATTACHED', 'observability(): pass it to createHappen({ observability }) first');
    return happen;
  };
  const deadLetters = () => meshView?.deadLetters ?? NO_DEAD_LETTERS;
  const localNodes = (system: Happen) => system.nodes().filter((id) => system.getNode(id) !== undefined);

  async function metrics(): Promise<MetricsSnapshot> {
    const system = attached();
    const now = clocks.now();
    const letters = (await deadLetters().list()).length;
    const families: MetricFamily[] = metricsOn ? registry.families() : [];
    if (tracer) families.push(...tracerFamilies(tracer));
    if (metricsOn) {
      families.push(...nodeFamilies([...registry.nodes.values()].map((s) => ({ node: s.id, ...windowRates(s, now), lastSeen: s.lastSeen }))));
      families.push(alertFamily(alerts?.firing() ?? []));
    }
    families.push(...meshFamilies(localNodes(system).length, meshView, letters, deadLettersTotal));
    return { system: system.id, at: now, metrics: families };
  }

  function healthOf(id: string, system: Happen, now: number): NodeHealth {
    return nodeHealth(registry.node(id), system.id, now, settings, alerts?.alerting(id) ?? false);
  }

  async function health(): Promise<SystemHealth> {
    const system = attached();
    const now = clocks.now();
    const letters = (await deadLetters().list()).length;
    return {
      system: system.id,
      at: now,
      nodes: localNodes(system).map((id) => healthOf(id, system, now)),
      queue: meshView?.queue() ?? { depth: 0, oldestAgeMs: 0 },
      deadLetters: letters,
      peers: meshView ? meshView.peers().length : 0,
    };
  }

  function checkAlerts(): AlertPayload[] {
    const system = attached();
    if (!alerts) return [];
    const changes = alerts.evaluate(registry.nodes.values(), clocks.now());
    for (const payload of changes) {
      if (ops) ops.broadcast({ type: ALERT_EVENT, payload });
      else system.notify({ type: ALERT_EVENT, payload });
    }
    return changes;
  }

  // Only data properties, all in the literal: an accessor (or a property added later) can turn the
  // object into a dictionary, and core reads `outgoing` from it on every emit (a dictionary lookup
  // costs ~100 instructions).
  const self: Observability & { opsNode: HappenNode | undefined } = {
    name: 'observability',
    tracer,
    opsNode: undefined,
    outgoing: metricsOn ? (event: HappenEvent, node: HappenNode) => counter.emitted(event, node.id) : undefined,
    attach(system: Happen) {
      if (happen) throw invalidConfig(what, 'an observability() belongs to one system; create one per createHappen');
      if (options.opsNode !== false && !OPS_ID.test(opsNodeId(system.id))) {
        throw invalidConfig(what, `the system id ${JSON.stringify(system.id)} cannot name an ops node (no whitespace, at most 117 characters); or set opsNode: false`);
      }
      happen = system;
      meshView ??= system.extensions.find(isMesh) as MeshView | undefined;
      if (rules.length > 0) {
        alerts = new AlertEvaluator(rules, system.id, opsNodeId(system.id));
        timer = setInterval(() => {
          try {
            checkAlerts();
          } catch {
            // A check that failed (a node gone mid-way) is retried at the next tick.
          }
        }, settings.checkEveryMs);
        (timer as { unref?: () => void }).unref?.(); // alerts alone should not keep a process alive
      }
      tracer?.attach?.(system);
      if (options.opsNode !== false) self.opsNode = ops = createOpsNode(system, { health, metrics, deadLetters }, () => void deadLettersTotal++);
    },
    nodeCreated(node: HappenNode) {
      // Inside the tracer's, so a handling's duration is the handlers', not the tracer's.
      const probe = metricsOn ? new NodeProbe(registry.node(node.id), clocks, timingEvery) : undefined;
      if (tracer?.middlewareFor) {
        // One middleware doing both: a middleware costs each delivery a call and a `next` closure.
        const traced = tracer.middlewareFor(node, probe);
        if (traced) return void node.use(traced);
      } else tracer?.nodeCreated?.(node);
      if (probe) node.use(probe);
    },
    nodeRemoved(node: HappenNode) {
      tracer?.nodeRemoved?.(node);
    },
    metrics,
    health,
    nodeHealth(id) {
      const system = attached();
      return registry.nodes.has(id) || system.getNode(id) ? healthOf(id, system, clocks.now()) : undefined;
    },
    checkAlerts,
    firingAlerts: () => alerts?.firing() ?? [],
    async close() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await tracer?.close();
    },
  };
  return self;
}

function bucketsOption(value: unknown): readonly number[] {
  if (value === undefined) return DEFAULT_DURATION_BUCKETS_MS;
  const what = 'observability({ metrics })';
  if (!Array.isArray(value) || value.length === 0) throw invalidConfig(what, `buckets must be a non-empty array of ms bounds (got ${describe(value)})`);
  value.forEach((b, i) => {
    if (typeof b !== 'number' || !Number.isFinite(b) || b <= 0) throw invalidConfig(what, `buckets[${i}] must be a positive finite number of ms (got ${describe(b)})`);
    if (i > 0 && b <= value[i - 1]) throw invalidConfig(what, `buckets must ascend (buckets[${i}] = ${b} after ${value[i - 1]})`);
  });
  return [...value];
}

// A tracer as given, or made from tracing options; the top-level samplingRate wins over none, and must agree with one.
function tracerOption(value: unknown, samplingRate: number | undefined): Tracer | undefined {
  if (value === undefined || value === false) return undefined;
  if (typeof value !== 'object' || value === null) throw invalidConfig('observability()', `tracing must be tracing options, a tracer or false (got ${describe(value)})`);
  if (isTracer(value)) {
    if (samplingRate !== undefined && samplingRate !== value.samplingRate) throw invalidConfig('observability()', `samplingRate ${samplingRate} differs from the tracer's ${value.samplingRate}`);
    return value;
  }
  const given = value as TracingOptions;
  if (samplingRate !== undefined && given.samplingRate !== undefined && given.samplingRate !== samplingRate) {
    throw invalidConfig('observability()', `samplingRate ${samplingRate} differs from tracing.samplingRate ${given.samplingRate}`);
  }
  return createTracer(samplingRate === undefined ? given : { ...given, samplingRate });
}

function isTracer(value: object): value is Tracer {
  const t = value as Partial<Tracer>;
  return typeof t.nodeCreated === 'function' && typeof t.stats === 'function' && typeof t.close === 'function';
}
