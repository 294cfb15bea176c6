/**
 * Alert rules on node health. Each (rule, node) pair is a two-state machine: it fires when the value
 * goes above the threshold and resolves when it is back at or under it, so a crossing is reported
 * once however long it lasts — no event per check while it stays crossed.
 */
import { compilePattern, type Pattern, type TypeMatcher } from '../core/pattern.ts';
import { windowRates, type HealthSettings } from './health.ts';
import type { NodeStats } from './metrics.ts';
import { checkObject, describe, integerOption, invalidConfig } from '../core/config-checks.ts';

/** The type of the events alerts are reported as. */
export const ALERT_EVENT = 'observe.alert';

/** What an alert rule watches, per node, over the health window. */
export type AlertMetric = 'errorRate' | 'avgLatencyMs';

/** One alert rule. */
export interface AlertRule {
  /** Names the rule in its alert events (unique per system). */
  name: string;
  /** `errorRate` (failures / handlings, 0..1) or `avgLatencyMs` (mean timed handler duration). */
  metric: AlertMetric;
  /** Fires when the value goes above this; resolves when it is back at or under it. */
  threshold: number;
  /** The nodes it watches, as a pattern over node ids (default: every node but the ops node). */
  nodes?: Pattern;
  /** Handlings the window needs before the rule may fire (default `health.minEvents`). */
  minEvents?: number;
}

/** The payload of an `observe.alert` event. */
export interface AlertPayload {
  rule: string;
  metric: AlertMetric;
  node: string;
  system: string;
  /** The value when the state changed. */
  value: number;
  threshold: number;
  state: 'firing' | 'resolved';
  /** When it changed (ms since the epoch). */
  at: number;
}

interface CompiledRule {
  name: string;
  metric: AlertMetric;
  threshold: number;
  /** Undefined: every node but the system's ops node. */
  watches: TypeMatcher | undefined;
  minEvents: number;
}

const KEYS = ['name', 'metric', 'threshold', 'nodes', 'minEvents'] as const;

/** Checks alert rules; throws `INVALID_CONFIG`. */
export function compileRules(value: unknown, settings: HealthSettings): CompiledRule[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidConfig('observability({ alerts })', `expected an array of rules (got ${describe(value)})`);
  const names = new Set<string>();
  return value.map((raw, i) => {
    const what = `observability({ alerts[${i}] })`;
    const rule = checkObject<AlertRule>(what, raw, KEYS);
    if (typeof rule.name !== 'string' || rule.name.length === 0) throw invalidConfig(what, `name must be a non-empty string (got ${describe(rule.name)})`);
    if (names.has(rule.name)) throw invalidConfig(what, `a rule named "${rule.name}" already exists`);
    names.add(rule.name);
    if (rule.metric !== 'errorRate' && rule.metric !== 'avgLatencyMs') throw invalidConfig(what, `metric must be "errorRate" or "avgLatencyMs" (got ${describe(rule.metric)})`);
    const max = rule.metric === 'errorRate' ? 1 : Number.MAX_VALUE;
    if (typeof rule.threshold !== 'number' || !Number.isFinite(rule.threshold) || rule.threshold < 0 || rule.threshold >= max) {
      throw invalidConfig(what, `threshold must be a number in [0, ${rule.metric === 'errorRate' ? '1)' : '∞)'} (got ${describe(rule.threshold)})`);
    }
    let watches: TypeMatcher | undefined;
    if (rule.nodes !== undefined) {
      try {
        watches = compilePattern(rule.nodes);
      } catch (error) {
        throw invalidConfig(what, `nodes: ${(error as Error).message}`);
      }
    }
    return { name: rule.name, metric: rule.metric, threshold: rule.threshold, watches, minEvents: integerOption(what, 'minEvents', rule.minEvents, 1, settings.minEvents) };
  });
}

/** Keeps the state of every (rule, node) pair and reports its changes. */
export class AlertEvaluator {
  // `${rule}\n${node}` → the value it fired with.
  readonly #firing = new Map<string, { rule: string; node: string; value: number }>();

  constructor(
    private readonly rules: CompiledRule[],
    private readonly system: string,
    private readonly opsNode: string,
  ) {}

  /** Checks every rule against every node's window ending at `now`; returns the state changes. */
  evaluate(nodes: Iterable<NodeStats>, now: number): AlertPayload[] {
    const changes: AlertPayload[] = [];
    for (const stats of nodes) {
      let rates: ReturnType<typeof windowRates> | undefined;
      for (const rule of this.rules) {
        if (rule.watches === undefined ? stats.id === this.opsNode : !rule.watches(stats.id)) continue;
        rates ??= windowRates(stats, now);
        const value = rule.metric === 'errorRate' ? rates.errorRate : rates.avgLatencyMs;
        const key = `${rule.name}\n${stats.id}`;
        const firing = this.#firing.has(key);
        const evidence = rule.metric === 'errorRate' ? rates.handled : rates.timed;
        if (!firing && value > rule.threshold && rates.handled >= rule.minEvents && evidence > 0) {
          this.#firing.set(key, { rule: rule.name, node: stats.id, value });
          changes.push(this.change(rule, stats.id, value, 'firing', now));
        } else if (firing && value <= rule.threshold) {
          this.#firing.delete(key);
          changes.push(this.change(rule, stats.id, value, 'resolved', now));
        }
      }
    }
    return changes;
  }

  /** The alerts firing now. */
  firing(): Array<{ rule: string; node: string; value: number }> {
    return [...this.#firing.values()].map((f) => ({ ...f }));
  }

  /** Whether any rule fires for this node. */
  alerting(node: string): boolean {
    for (const f of this.#firing.values()) if (f.node === node) return true;
    return false;
  }

  private change(rule: CompiledRule, node: string, value: number, state: AlertPayload['state'], at: number): AlertPayload {
    return { rule: rule.name, metric: rule.metric, node, system: this.system, value, threshold: rule.threshold, state, at };
  }
}
