/** Node health: error rate and mean latency over a sliding window, and the status they imply. */
import type { NodeHealth } from './ops-contract.ts';
import type { NodeStats } from './metrics.ts';
import { checkObject, integerOption, invalidConfig, numberOption } from '../core/config-checks.ts';

/** Options for `observability({ health })`. */
export interface HealthOptions {
  /** The sliding window error rates and latencies are measured over, in ms (default 60,000). */
  windowMs?: number;
  /** How many slots the window is cut into: it slides by `windowMs / slots` (default 12). */
  slots?: number;
  /** Handlings a window needs before its rates count: for a status or a firing alert (default 5). */
  minEvents?: number;
  /** Error rate from which a node is `degraded` (default 0.05). */
  degradedErrorRate?: number;
  /** Error rate from which a node is `failing` (default 0.5). */
  failingErrorRate?: number;
  /** How often alert rules are checked, in ms (default 1,000; only when there are rules). */
  checkEveryMs?: number;
}

/** Health options with every default filled in. */
export type HealthSettings = Required<HealthOptions>;

const KEYS = ['windowMs', 'slots', 'minEvents', 'degradedErrorRate', 'failingErrorRate', 'checkEveryMs'] as const;

/** Checks and completes health options; throws `INVALID_CONFIG`. */
export function healthSettings(value: unknown): HealthSettings {
  const what = 'observability({ health })';
  const options = checkObject<HealthOptions>(what, value ?? {}, KEYS);
  const windowMs = integerOption(what, 'windowMs', options.windowMs, 1, 60_000);
  const slots = integerOption(what, 'slots', options.slots, 1, 12);
  if (slots > windowMs) throw invalidConfig(what, `slots (${slots}) cannot exceed windowMs (${windowMs})`);
  const degradedErrorRate = numberOption(what, 'degradedErrorRate', options.degradedErrorRate, 0, 1, 0.05);
  const failingErrorRate = numberOption(what, 'failingErrorRate', options.failingErrorRate, 0, 1, 0.5);
  if (degradedErrorRate > failingErrorRate) throw invalidConfig(what, 'degradedErrorRate cannot exceed failingErrorRate');
  return {
    windowMs,
    slots,
    minEvents: integerOption(what, 'minEvents', options.minEvents, 1, 5),
    degradedErrorRate,
    failingErrorRate,
    checkEveryMs: integerOption(what, 'checkEveryMs', options.checkEveryMs, 1, 1_000),
  };
}

/** Error rate and mean latency of a node over the window ending at `now`. */
export function windowRates(stats: NodeStats, now: number): { handled: number; errorRate: number; avgLatencyMs: number; timed: number } {
  const w = stats.window(now);
  return {
    handled: w.handled,
    errorRate: w.handled === 0 ? 0 : w.failures / w.handled,
    avgLatencyMs: w.timed === 0 ? 0 : w.sumMs / w.timed,
    timed: w.timed,
  };
}

/** The health of one node as its system sees it. */
export function nodeHealth(stats: NodeStats, system: string, now: number, settings: HealthSettings, alerting: boolean): NodeHealth {
  const rates = windowRates(stats, now);
  let eventsIn = 0;
  let eventsOut = 0;
  let failures = 0;
  for (const t of stats.types.values()) {
    eventsIn += t.eventsIn;
    eventsOut += t.eventsOut;
    failures += t.failures;
  }
  const judged = rates.handled >= settings.minEvents;
  const status: NodeHealth['status'] =
    judged && rates.errorRate >= settings.failingErrorRate && rates.errorRate > 0
      ? 'failing'
      : alerting || (judged && rates.errorRate >= settings.degradedErrorRate && rates.errorRate > 0)
        ? 'degraded'
        : 'ok';
  return { node: stats.id, system, status, lastSeen: stats.lastSeen, eventsIn, eventsOut, failures, errorRate: rates.errorRate, avgLatencyMs: rates.avgLatencyMs };
}
