/**
 * Prometheus text exposition (format 0.0.4): `# HELP` and `# TYPE` once per family, every series of a
 * family together, label values escaped, histograms as cumulative `_bucket{le=...}` series ending in
 * `+Inf`, then `_sum` and `_count`. Snapshots of several systems merge into one family per name,
 * each series labelled with its `system`.
 */
import { HappenError } from '../core/errors.ts';
import type { MetricFamily, MetricSample, MetricsSnapshot } from './ops-contract.ts';

/** The `Content-Type` of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Options for {@link toPrometheus}. */
export interface PrometheusOptions {
  /** Labels added to every series (e.g. `{ mesh }`); a snapshot's own `system` label still wins. */
  labels?: Record<string, string>;
  /** The label naming each snapshot's system (default `system`); `false` for none. */
  systemLabel?: string | false;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram']);

interface Merged {
  family: MetricFamily;
  lines: string[];
  series: Set<string>;
}

/**
 * Renders snapshots as Prometheus text. Throws a `validation` `INVALID_METRICS` error for what would
 * make the exposition invalid: a bad metric or label name, one name with two types, the same series
 * twice, a histogram whose buckets do not ascend or whose counts fall.
 */
export function toPrometheus(snapshots: MetricsSnapshot | readonly MetricsSnapshot[], options: PrometheusOptions = {}): string {
  const list = Array.isArray(snapshots) ? (snapshots as readonly MetricsSnapshot[]) : [snapshots as MetricsSnapshot];
  const systemLabel = options.systemLabel === undefined ? 'system' : options.systemLabel;
  const extra = options.labels ?? {};
  for (const name of [...Object.keys(extra), ...(systemLabel === false ? [] : [systemLabel])]) checkLabelName(name, 'options');
  const families = new Map<string, Merged>();
  for (const snapshot of list) {
    if (typeof snapshot !== 'object' || snapshot === null || !Array.isArray(snapshot.metrics)) throw invalid('a snapshot must have a metrics array');
    const own: Record<string, string> = systemLabel === false ? {} : { [systemLabel]: String(snapshot.system) };
    for (const family of snapshot.metrics) {
      const merged = familyFor(families, family);
      for (const sample of family.samples) render(merged, family, { ...extra, ...withoutKeys(sample.labels, own), ...own }, sample);
    }
  }
  for (const name of families.keys()) {
    const f = families.get(name)!.family;
    if (f.type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) if (families.has(name + suffix)) throw invalid(`${name + suffix} clashes with the series of histogram ${name}`);
  }
  let out = '';
  for (const { family, lines } of families.values()) {
    out += `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
    for (const line of lines) out += line + '\n';
  }
  return out;
}

/** A copy of a snapshot with `labels` on every sample (replacing a sample's own of the same name). */
export function withLabels(snapshot: MetricsSnapshot, labels: Record<string, string>): MetricsSnapshot {
  return {
    ...snapshot,
    metrics: snapshot.metrics.map((f) => ({ ...f, samples: f.samples.map((s) => ({ ...s, labels: { ...s.labels, ...labels } })) })),
  };
}

function familyFor(families: Map<string, Merged>, family: MetricFamily): Merged {
  if (typeof family !== 'object' || family === null) throw invalid('a metric family must be an object');
  if (typeof family.name !== 'string' || !METRIC_NAME.test(family.name)) throw invalid(`bad metric name ${JSON.stringify(family.name)}`);
  if (!TYPES.has(family.type)) throw invalid(`${family.name}: bad type ${JSON.stringify(family.type)}`);
  if (!Array.isArray(family.samples)) throw invalid(`${family.name}: samples must be an array`);
  const merged = families.get(family.name);
  if (merged === undefined) {
    const created: Merged = { family: { ...family, help: typeof family.help === 'string' ? family.help : '' }, lines: [], series: new Set() };
    families.set(family.name, created);
    return created;
  }
  if (merged.family.type !== family.type) throw invalid(`${family.name} is both a ${merged.family.type} and a ${family.type}`);
  return merged;
}

function render(merged: Merged, family: MetricFamily, labels: Record<string, string>, sample: MetricSample): void {
  const names = Object.keys(labels);
  for (const name of names) checkLabelName(name, family.name);
  const key = names.sort().map((n) => `${n}=${labels[n]}`).join('\u0000');
  if (merged.series.has(key)) throw invalid(`${family.name}: the series {${formatLabels(labels).slice(1, -1)}} appears twice`);
  merged.series.add(key);
  if (family.type !== 'histogram') {
    if (!('value' in sample)) throw invalid(`${family.name}: a ${family.type} sample needs a value`);
    merged.lines.push(`${family.name}${formatLabels(labels)} ${formatValue(sample.value, family.name)}`);
    return;
  }
  if (!('buckets' in sample) || !Array.isArray(sample.buckets)) throw invalid(`${family.name}: a histogram sample needs buckets`);
  if ('le' in labels) throw invalid(`${family.name}: a histogram cannot have a label named le`);
  const count = checkedCount(sample.count, family.name);
  let previousLe = -Infinity;
  let previousCount = 0;
  for (const bucket of sample.buckets) {
    const [le, n] = Array.isArray(bucket) ? bucket : [NaN, NaN];
    // An explicit +Inf bound (or the null JSON makes of it) is the count, written below.
    if (le === Infinity || le === null) continue;
    if (typeof le !== 'number' || Number.isNaN(le) || le <= previousLe) throw invalid(`${family.name}: bucket bounds must be ascending numbers`);
    if (typeof n !== 'number' || !Number.isFinite(n) || n < previousCount || n > count) throw invalid(`${family.name}: bucket counts must be cumulative and at most the count`);
    merged.lines.push(`${family.name}_bucket${formatLabels({ ...labels, le: formatValue(le, family.name) })} ${formatValue(n, family.name)}`);
    previousLe = le;
    previousCount = n;
  }
  merged.lines.push(`${family.name}_bucket${formatLabels({ ...labels, le: '+Inf' })} ${formatValue(count, family.name)}`);
  merged.lines.push(`${family.name}_sum${formatLabels(labels)} ${formatValue(sample.sum, family.name)}`);
  merged.lines.push(`${family.name}_count${formatLabels(labels)} ${formatValue(count, family.name)}`);
}

function checkedCount(count: unknown, name: string): number {
  if (typeof count !== 'number' || !Number.isFinite(count) || count < 0) throw invalid(`${name}: a histogram count must be a non-negative number`);
  return count;
}

function checkLabelName(name: string, where: string): void {
  if (!LABEL_NAME.test(name) || name.startsWith('__')) throw invalid(`${where}: bad label name ${JSON.stringify(name)}`);
}

function withoutKeys(labels: Record<string, string> | undefined, drop: Record<string, string>): Record<string, string> {
  if (labels === undefined) return {};
  if (typeof labels !== 'object' || labels === null) throw invalid('labels must be an object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (!(k in drop)) out[k] = String(v);
  return out;
}

function formatLabels(labels: Record<string, string>): string {
  const names = Object.keys(labels);
  if (names.length === 0) return '';
  return `{${names.map((n) => `${n}="${escapeLabel(labels[n]!)}"`).join(',')}}`;
}

/** A sample value as Prometheus writes floats: `NaN`, `+Inf`, `-Inf`, or the shortest decimal. */
function formatValue(value: unknown, name: string): string {
  if (typeof value !== 'number') throw invalid(`${name}: a value must be a number (got ${JSON.stringify(value)})`);
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function invalid(message: string): HappenError {
  return new HappenError('validation', 'INVALID_METRICS', `toPrometheus(): ${message}`);
}
