import { describe, expect, test } from 'vitest';
import { createHappen } from '../../src/index.ts';
import { createRelays } from '../../src/hub/relays.ts';
import { hubMetrics, observability, PROMETHEUS_CONTENT_TYPE, toPrometheus, withLabels, type MetricsSnapshot } from '../../src/observe/index.ts';
import { parseExposition, promtoolCheck, promtoolPath } from './helpers/prometheus-parser.ts';

const promtool = promtoolPath();

/** Parses strictly, and has promtool check it too when it is installed. */
function valid(text: string) {
  const families = parseExposition(text);
  if (promtool) expect(promtoolCheck(promtool, text)).toBe('');
  return families;
}

const snapshot = (system: string, metrics: MetricsSnapshot['metrics']): MetricsSnapshot => ({ system, at: 0, metrics });

describe('[node] Prometheus exposition', () => {
  test('the strict parser refuses what a scraper would', () => {
    const bad = [
      'x 1', // no final newline
      'x{a="b} 1\n',
      'x{a="\\q"} 1\n',
      'x{a=b} 1\n',
      'x{__a="b"} 1\n',
      'x one\n',
      '1x 1\n',
      '# TYPE x counter\nx 1\n', // counter without _total
      '# TYPE x_total counter\nx_total -1\n',
      '# TYPE x gauge\nx 1\n# TYPE x gauge\n',
      'x 1\n# TYPE x gauge\n',
      '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n', // a family split
      '# TYPE a gauge\na{l="1"} 1\na{l="1"} 2\n',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
      '# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n',
      '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n',
      '\n',
    ];
    for (const text of bad) expect(() => parseExposition(text), JSON.stringify(text)).toThrow();
    expect(parseExposition('# a comment\n# HELP x_total Help with \\\\ and \\n.\n# TYPE x_total counter\nx_total{a="q\\"\\n\\\\",} 1 1700000000000\n').get('x_total')!.samples[0]!.labels.a).toBe('q"\n\\');
  });

  test('counters, gauges and histograms render as the text format says', () => {
    const text = toPrometheus(
      snapshot('sys', [
        { name: 'jobs_total', help: 'Jobs.\nAll of them, with a \\.', type: 'counter', samples: [{ labels: { node: 'a"b\\c\nd' }, value: 3 }] },
        { name: 'temp', help: 'Temperature.', type: 'gauge', samples: [{ labels: {}, value: -1.5 }, { labels: { where: 'x' }, value: NaN }, { labels: { where: 'y' }, value: Infinity }] },
        { name: 'took_seconds', help: 'Durations.', type: 'histogram', samples: [{ labels: { node: 'a' }, buckets: [[0.001, 1], [0.01, 3], [Infinity, 4]], sum: 0.25, count: 5 }] },
      ]),
    );
    expect(text).toBe(
      [
        '# HELP jobs_total Jobs.\\nAll of them, with a \\\\.',
        '# TYPE jobs_total counter',
        'jobs_total{node="a\\"b\\\\c\\nd",system="sys"} 3',
        '# HELP temp Temperature.',
        '# TYPE temp gauge',
        'temp{system="sys"} -1.5',
        'temp{where="x",system="sys"} NaN',
        'temp{where="y",system="sys"} +Inf',
        '# HELP took_seconds Durations.',
        '# TYPE took_seconds histogram',
        'took_seconds_bucket{node="a",system="sys",le="0.001"} 1',
        'took_seconds_bucket{node="a",system="sys",le="0.01"} 3',
        'took_seconds_bucket{node="a",system="sys",le="+Inf"} 5',
        'took_seconds_sum{node="a",system="sys"} 0.25',
        'took_seconds_count{node="a",system="sys"} 5',
        '',
      ].join('\n'),
    );
    const parsed = valid(text);
    expect(parsed.get('jobs_total')!.samples[0]!.labels.node).toBe('a"b\\c\nd');
    expect(parsed.get('jobs_total')!.help).toBe('Jobs.\nAll of them, with a \\.');
    expect(PROMETHEUS_CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  test('snapshots of several systems merge into one family per name, labelled by system', () => {
    const family = (value: number) => [{ name: 'up_total', help: 'x', type: 'counter' as const, samples: [{ labels: { node: 'n', system: 'forged' }, value }] }];
    const text = toPrometheus([snapshot('a', family(1)), snapshot('b', family(2))], { labels: { mesh: 'm' } });
    const parsed = valid(text);
    expect(text.match(/# TYPE up_total/g)).toHaveLength(1);
    expect(parsed.get('up_total')!.samples.map((s) => s.labels)).toEqual([
      { mesh: 'm', node: 'n', system: 'a' },
      { mesh: 'm', node: 'n', system: 'b' },
    ]);
    expect(toPrometheus(snapshot('a', family(1)), { systemLabel: false })).toContain('up_total{node="n",system="forged"} 1');
    expect(withLabels(snapshot('a', family(1)), { mesh: 'x' }).metrics[0]!.samples[0]!.labels).toEqual({ node: 'n', system: 'forged', mesh: 'x' });
    expect(toPrometheus([])).toBe('');
  });

  test('what would make the text invalid is a typed INVALID_METRICS error', () => {
    const cases: Array<MetricsSnapshot['metrics']> = [
      [{ name: 'bad-name', help: '', type: 'gauge', samples: [] }],
      [{ name: 'x', help: '', type: 'summary' as 'gauge', samples: [] }],
      [{ name: 'x', help: '', type: 'gauge', samples: [{ labels: { 'bad-label': '1' }, value: 1 }] }],
      [{ name: 'x', help: '', type: 'gauge', samples: [{ labels: { __name__: '1' }, value: 1 }] }],
      [{ name: 'x', help: '', type: 'gauge', samples: [{ labels: {}, value: '1' as unknown as number }] }],
      [{ name: 'x', help: '', type: 'gauge', samples: [{ labels: { a: '1' }, value: 1 }, { labels: { a: '1' }, value: 2 }] }],
      [{ name: 'x', help: '', type: 'gauge', samples: [] }, { name: 'x', help: '', type: 'counter', samples: [] }],
      [{ name: 'h', help: '', type: 'histogram', samples: [{ labels: {}, buckets: [[2, 1], [1, 1]], sum: 0, count: 1 }] }],
      [{ name: 'h', help: '', type: 'histogram', samples: [{ labels: {}, buckets: [[1, 2], [2, 1]], sum: 0, count: 2 }] }],
      [{ name: 'h', help: '', type: 'histogram', samples: [{ labels: {}, buckets: [[1, 3]], sum: 0, count: 2 }] }],
      [{ name: 'h', help: '', type: 'histogram', samples: [{ labels: { le: '1' }, buckets: [], sum: 0, count: 0 }] }],
      [{ name: 'h', help: '', type: 'histogram', samples: [{ labels: {}, value: 1 } as never] }],
      [{ name: 'h', help: '', type: 'histogram', samples: [] }, { name: 'h_count', help: '', type: 'gauge', samples: [] }],
    ];
    for (const metrics of cases) {
      let error: unknown;
      try {
        toPrometheus(snapshot('s', metrics));
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(metrics)).toMatchObject({ name: 'HappenError', category: 'validation', code: 'INVALID_METRICS' });
    }
    expect(() => toPrometheus({ system: 's', at: 0 } as unknown as MetricsSnapshot)).toThrow(/metrics array/);
    expect(() => toPrometheus([], { labels: { 'no-dash': 'x' } })).toThrow(/bad label name/);
  });

  test("a busy system's whole snapshot is valid exposition (strict parser, and promtool when installed)", async () => {
    const obs = observability({ alerts: [{ name: 'errors', metric: 'errorRate', threshold: 0.1, minEvents: 1 }], metrics: { timingEvery: 1 } });
    const happen = createHappen({ id: 'busy', observability: obs });
    const w = happen.createNode('worker');
    w.on('job.*', async (e) => {
      if (e.payload % 3 === 0) throw new Error('every third fails');
      return e.payload;
    });
    const ui = happen.createNode('ui');
    for (let i = 0; i < 30; i++) await ui.send('worker', { type: i % 2 ? 'job.a' : 'job.b', payload: i }).return().catch(() => undefined);
    await happen.settled();
    expect(obs.checkAlerts()).toHaveLength(1);
    const text = toPrometheus(await obs.metrics());
    const parsed = valid(text);
    expect(parsed.get('happen_events_in_total')!.samples.find((s) => s.labels.node === 'worker' && s.labels.type === 'job.a')!.value).toBe(15);
    expect(parsed.get('happen_handler_failures_total')!.samples.find((s) => s.labels.node === 'worker' && s.labels.type === 'job.b')!.value).toBe(5);
    const h = parsed.get('happen_handler_duration_seconds')!;
    expect(h.type).toBe('histogram');
    expect(h.samples.find((s) => s.name.endsWith('_count') && s.labels.type === 'job.a')!.value).toBe(15);
    expect(parsed.get('happen_alert_firing')!.samples).toHaveLength(1);
    for (const f of parsed.values()) expect(f.help, f.name).toBeTruthy();
    await obs.close();
  });

  test('hubMetrics: bad options are INVALID_CONFIG; a hub with no mesh yet still has its own families', async () => {
    const relays = createRelays();
    for (const options of [{ timeoutMs: 0 }, { idleMs: 1.5 }, { id: 'has space' }, { extensions: [] }, { bogus: 1 }]) {
      expect(() => hubMetrics(relays, options as never), JSON.stringify(options)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    }
    const metrics = hubMetrics(relays);
    const families = valid(await metrics.collect());
    expect(families.get('happen_hub_meshes')!.samples[0]!.value).toBe(0);
    expect(families.get('happen_hub_system_up')!.samples).toEqual([]);
    await metrics.close();
  });

  test.runIf(promtool)('promtool is really checking: it refuses a malformed text', () => {
    expect(promtoolCheck(promtool!, 'bad{a="b} 1\n')).not.toBe('');
    expect(promtoolCheck(promtool!, '# HELP x_ms h\n# TYPE x_ms counter\nx_ms 1\n')).toMatch(/_total/);
  });
});
