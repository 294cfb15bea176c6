/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests: it throws on anything
 * a scraper would refuse or promtool would flag — bad names, escapes or floats, a family split or
 * typed twice, TYPE after samples, duplicate series, histograms whose buckets do not ascend, are not
 * cumulative, lack `+Inf`, or disagree with `_count`; counters without `_total` or below zero.
 */
import { execFileSync } from 'node:child_process';

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help?: string;
  samples: ParsedSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parses exposition text; throws an Error naming the line for anything malformed. */
export function parseExposition(text: string): Map<string, ParsedFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, ParsedFamily>();
  const closed = new Set<string>();
  let current: string | undefined;
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, i) => {
    const where = `line ${i + 1} (${JSON.stringify(line.slice(0, 80))})`;
    if (line.length === 0) throw new Error(`${where}: empty line`);
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) {
        if (/^# (HELP|TYPE)\b/.test(line)) throw new Error(`${where}: malformed ${line.slice(2, 6)} line`);
        return; // a plain comment
      }
      const [, kind, name, rest = ''] = m as unknown as [string, string, string, string?];
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name`);
      const family = open(name, where);
      if (kind === 'HELP') {
        if (family.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
        family.help = unescape(rest, false, where);
      } else {
        if (!TYPES.has(rest)) throw new Error(`${where}: bad type ${rest}`);
        if (family.samples.length > 0) throw new Error(`${where}: TYPE after samples of ${name}`);
        if ((family as { typed?: boolean }).typed) throw new Error(`${where}: second TYPE for ${name}`);
        (family as { typed?: boolean }).typed = true;
        family.type = rest as ParsedFamily['type'];
      }
      return;
    }
    const sample = parseSample(line, where);
    const base = familyOf(sample.name);
    const family = open(base, where);
    family.samples.push(sample);
  });
  for (const family of families.values()) check(family);
  return families;

  function open(name: string, where: string): ParsedFamily {
    if (current !== name) {
      if (closed.has(name)) throw new Error(`${where}: the lines of ${name} are not together`);
      if (current !== undefined) closed.add(current);
      current = name;
    }
    let family = families.get(name);
    if (!family) families.set(name, (family = { name, type: 'untyped', samples: [] }));
    return family;
  }

  // A histogram's series belong to its family; anything else is its own.
  function familyOf(sampleName: string): string {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (sampleName.endsWith(suffix)) {
        const base = sampleName.slice(0, -suffix.length);
        if (families.get(base)?.type === 'histogram' || families.get(base)?.type === 'summary') return base;
      }
    }
    return sampleName;
  }
}

function parseSample(line: string, where: string): ParsedSample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)(?: (-?\d+))?$/.exec(line);
  if (!m) throw new Error(`${where}: malformed sample`);
  const [, name, rawLabels, rawValue] = m as unknown as [string, string, string | undefined, string];
  return { name, labels: rawLabels === undefined ? {} : parseLabels(rawLabels, where), value: parseValue(rawValue, where) };
}

function parseLabels(raw: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 1;
  const end = raw.length - 1;
  while (i < end) {
    const eq = raw.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: a label without a value`);
    const name = raw.slice(i, eq);
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    if (raw[eq + 1] !== '"') throw new Error(`${where}: label ${name}'s value is not quoted`);
    let j = eq + 2;
    let value = '';
    for (;;) {
      if (j >= end) throw new Error(`${where}: unterminated value of label ${name}`);
      const c = raw[j]!;
      if (c === '"') break;
      if (c === '\n') throw new Error(`${where}: a raw newline in a label value`);
      if (c === '\\') {
        const next = raw[j + 1];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else throw new Error(`${where}: bad escape \\${next} in label ${name}`);
        j += 2;
        continue;
      }
      value += c;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (raw[i] === ',') i++;
    else if (i !== end) throw new Error(`${where}: expected , or } after label ${name}`);
  }
  return labels;
}

function parseValue(raw: string, where: string): number {
  if (raw === 'NaN') return NaN;
  if (raw === '+Inf' || raw === 'Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  if (!FLOAT.test(raw)) throw new Error(`${where}: bad value ${raw}`);
  return Number(raw);
}

function unescape(text: string, quotes: boolean, where: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (quotes && c === '"') return '"';
    throw new Error(`${where}: bad escape \\${c}`);
  });
}

const seriesKey = (s: ParsedSample, skip?: string) =>
  Object.keys(s.labels)
    .filter((k) => k !== skip)
    .sort()
    .map((k) => `${k}=${s.labels[k]}`)
    .join(',');

function check(family: ParsedFamily): void {
  const seen = new Set<string>();
  for (const s of family.samples) {
    const key = `${s.name}{${seriesKey(s)}}`;
    if (seen.has(key)) throw new Error(`${family.name}: duplicate series ${key}`);
    seen.add(key);
  }
  if (family.type === 'counter') {
    if (!family.name.endsWith('_total')) throw new Error(`${family.name}: a counter's name should end in _total`);
    for (const s of family.samples) if (!(s.value >= 0)) throw new Error(`${family.name}: a counter below zero`);
  } else if (family.name.endsWith('_total')) throw new Error(`${family.name}: only counters end in _total`);
  if (family.type !== 'histogram') {
    for (const s of family.samples) if (s.name !== family.name) throw new Error(`${family.name}: stray series ${s.name}`);
    return;
  }
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const s of family.samples) {
    const key = seriesKey(s, 'le');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { buckets: [] }));
    if (s.name === `${family.name}_bucket`) {
      if (!('le' in s.labels)) throw new Error(`${family.name}: a bucket without le`);
      const le = parseValue(s.labels.le!, family.name);
      g.buckets.push([le, s.value]);
    } else if (s.name === `${family.name}_sum`) g.sum = s.value;
    else if (s.name === `${family.name}_count`) g.count = s.value;
    else throw new Error(`${family.name}: stray series ${s.name}`);
  }
  for (const [key, g] of groups) {
    if (g.sum === undefined || g.count === undefined) throw new Error(`${family.name}{${key}}: _sum and _count are required`);
    if (g.buckets.length === 0 || g.buckets.at(-1)![0] !== Infinity) throw new Error(`${family.name}{${key}}: the last bucket must be +Inf`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i]![0] > g.buckets[i - 1]![0])) throw new Error(`${family.name}{${key}}: buckets out of order`);
      if (g.buckets[i]![1] < g.buckets[i - 1]![1]) throw new Error(`${family.name}{${key}}: buckets not cumulative`);
    }
    if (g.buckets.at(-1)![1] !== g.count) throw new Error(`${family.name}{${key}}: +Inf bucket differs from _count`);
  }
}

/** Where promtool is installed (Debian's `prometheus` package), or undefined. */
export function promtoolPath(): string | undefined {
  try {
    return execFileSync('which', ['promtool'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Runs `promtool check metrics` on the text; returns its complaints (empty when it is happy). */
export function promtoolCheck(promtool: string, text: string): string {
  try {
    execFileSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    return '';
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; status?: number };
    return `exit ${e.status}: ${e.stdout ?? ''}${e.stderr ?? ''}`.trim();
  }
}
