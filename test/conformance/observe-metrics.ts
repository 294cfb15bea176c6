import { createHappen, ERROR_EVENT, HappenError, type HappenEvent } from '../../src/index.ts';
import { mesh, terminate, type Mesh } from '../../src/mesh/index.ts';
import {
  ALERT_EVENT,
  observability,
  OPS_EVENTS,
  opsNodeId,
  OTHER_TYPES,
  toPrometheus,
  type AlertPayload,
  type MetricSample,
  type MetricsSnapshot,
  type Observability,
  type ObservabilityOptions,
  type SystemHealth,
} from '../../src/observe/index.ts';
import { memorySpanExporter } from '../../src/observe/tracing.ts';
import { resilience } from '../../src/resilience/index.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import { memoryBus } from '../../src/transports/memory.ts';
import { deepEqual, equal, isHappenError, ok, rejects, sleep, throws } from './assert.ts';
import { describe, test } from './harness.ts';

/** A system observed on a hand-driven clock (so durations and windows are exact in every runtime). */
async function observed(options: ObservabilityOptions, run: (s: { happen: ReturnType<typeof createHappen>; obs: Observability; clock: { t: number } }) => Promise<void>, id = 'sys') {
  const clock = { t: 1_700_000_000_000 };
  const obs = observability({ now: () => clock.t, ...options });
  const happen = createHappen({ id, observability: obs });
  try {
    await run({ happen, obs, clock });
  } finally {
    await happen.settled();
    await obs.close();
  }
}

function find(snapshot: MetricsSnapshot, name: string, labels: Record<string, string> = {}): MetricSample | undefined {
  const family = snapshot.metrics.find((f) => f.name === name);
  return family?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function value(snapshot: MetricsSnapshot, name: string, labels: Record<string, string> = {}): number | undefined {
  const s = find(snapshot, name, labels);
  return s && 'value' in s ? s.value : undefined;
}

const ask = <T>(happen: ReturnType<typeof createHappen>, from: string, type: string, payload: unknown = {}, system = happen.id) =>
  (happen.getNode(from) ?? happen.createNode(from)).send<T>(opsNodeId(system), { type, payload }).return({ timeout: 2_000 });

describe('observability: metrics', () => {
  test('createHappen({ observability }) adds it after the other extensions; the ops node exists at once', () =>
    observed({}, async ({ happen, obs }) => {
      equal(happen.extensions.at(-1), obs, 'the last extension');
      ok(happen.getNode(opsNodeId('sys')), 'the ops node');
      equal(obs.opsNode?.id, 'happen.ops.sys');
    }));

  test('events in and out are counted per node and event type', () =>
    observed({}, async ({ happen, obs }) => {
      const a = happen.createNode('a');
      const b = happen.createNode('b');
      b.on('order.created', () => undefined);
      b.on('order.paid', () => 'ok');
      a.on('order.created', () => undefined);
      for (let i = 0; i < 3; i++) a.broadcast({ type: 'order.created', payload: i });
      await a.send('b', { type: 'order.paid', payload: {} }).return();
      await happen.settled();
      const snap = await obs.metrics();
      equal(snap.system, 'sys');
      equal(value(snap, 'happen_events_out_total', { node: 'a', type: 'order.created' }), 3);
      equal(value(snap, 'happen_events_out_total', { node: 'a', type: 'order.paid' }), 1);
      equal(value(snap, 'happen_events_in_total', { node: 'b', type: 'order.created' }), 3);
      equal(value(snap, 'happen_events_in_total', { node: 'a', type: 'order.created' }), 3, 'a broadcast reaches its own sender too');
      equal(value(snap, 'happen_events_in_total', { node: 'b', type: 'order.paid' }), 1);
      equal(find(snap, 'happen_events_in_total', { node: 'b', type: 'order.shipped' }), undefined);
      equal(find(snap, 'happen_events_out_total', { node: 'b', type: 'order.created' }), undefined, 'no series for what a node never emitted');
    }));

  test('types beyond maxTypesPerNode are counted as (other)', () =>
    observed({ metrics: { maxTypesPerNode: 2 } }, async ({ happen, obs }) => {
      const n = happen.createNode('n');
      n.on('t.*', () => undefined);
      for (const type of ['t.a', 't.b', 't.c', 't.d', 't.a']) n.broadcast({ type });
      await happen.settled();
      const snap = await obs.metrics();
      equal(value(snap, 'happen_events_in_total', { node: 'n', type: 't.a' }), 2);
      equal(value(snap, 'happen_events_in_total', { node: 'n', type: 't.b' }), 1);
      equal(value(snap, 'happen_events_in_total', { node: 'n', type: OTHER_TYPES }), 2);
      equal(find(snap, 'happen_events_in_total', { node: 'n', type: 't.c' }), undefined);
    }));

  test('the duration histogram: cumulative buckets in seconds, sum and count; timingEvery times one in N', () =>
    observed({ metrics: { buckets: [1, 5, 10], timingEvery: 1 } }, async ({ happen, obs, clock }) => {
      const w = happen.createNode('w');
      w.on('job', async (e) => {
        clock.t += e.payload; // the handler "takes" this many ms
      });
      const ui = happen.createNode('ui');
      for (const ms of [0.5, 3, 7, 20, 1]) await ui.send('w', { type: 'job', payload: ms }).return();
      const h = find(await obs.metrics(), 'happen_handler_duration_seconds', { node: 'w', type: 'job' });
      ok(h && 'buckets' in h, 'a histogram sample');
      deepEqual(h.buckets, [[0.001, 2], [0.005, 3], [0.01, 4]], 'le 1 ms holds 0.5 and 1 ms; 20 ms is only in +Inf');
      equal(h.count, 5);
      equal(Math.round(h.sum * 1e6), 31_500, 'the sum in seconds');
    }).then(() =>
      observed({ metrics: { buckets: [1], timingEvery: 3 } }, async ({ happen, obs }) => {
        const w = happen.createNode('w');
        w.on('job', () => undefined);
        for (let i = 0; i < 7; i++) w.broadcast({ type: 'job' });
        await happen.settled();
        const snap = await obs.metrics();
        const h = find(snap, 'happen_handler_duration_seconds', { node: 'w', type: 'job' });
        ok(h && 'buckets' in h);
        equal(h.count, 3, 'handlings 1, 4 and 7 are timed');
        equal(value(snap, 'happen_events_in_total', { node: 'w', type: 'job' }), 7, 'every handling is counted');
      }),
    ));

  test('failures: a throw, a rejection and a validation failure each count once; their error events count as out', () =>
    observed({}, async ({ happen, obs }) => {
      const w = happen.createNode('w');
      w.on('sync', () => {
        throw new Error('boom');
      });
      w.on('async', async () => {
        throw new HappenError('runtime', 'NOPE', 'no');
      });
      w.on('typed', { schema: { '~standard': { version: 1, vendor: 'test', validate: () => ({ issues: [{ message: 'bad' }] }) } } }, () => 'never');
      w.on('fine', () => 1);
      const ui = happen.createNode('ui');
      for (const type of ['sync', 'async', 'typed', 'fine', 'sync']) await ui.send('w', { type }).return().catch(() => undefined);
      await happen.settled();
      const snap = await obs.metrics();
      equal(value(snap, 'happen_handler_failures_total', { node: 'w', type: 'sync' }), 2);
      equal(value(snap, 'happen_handler_failures_total', { node: 'w', type: 'async' }), 1);
      equal(value(snap, 'happen_handler_failures_total', { node: 'w', type: 'typed' }), 1);
      equal(value(snap, 'happen_handler_failures_total', { node: 'w', type: 'fine' }), 0);
      equal(value(snap, 'happen_events_out_total', { node: 'w', type: ERROR_EVENT }), 4, 'one error event per failure');
      equal(obs.nodeHealth('w')?.failures, 4);
      equal(obs.nodeHealth('w')?.eventsIn, 5);
    }));

  test('retries of the resilience layer are counted for the node and type retried', () =>
    observed({}, async ({ happen, obs }) => {
      let calls = 0;
      const w = happen.createNode('w');
      w.use(resilience({ retry: { attempts: 3, initialMs: 1, maxMs: 1, jitter: 0 } }));
      w.on('flaky', () => {
        if (++calls < 3) throw new Error('not yet');
        return 'done';
      });
      equal(await happen.createNode('ui').send('w', { type: 'flaky' }).return(), 'done');
      await happen.settled();
      const snap = await obs.metrics();
      equal(value(snap, 'happen_retries_total', { node: 'w', type: 'flaky' }), 2);
      equal(value(snap, 'happen_events_in_total', { node: 'w', type: 'flaky' }), 1, 'one handling, retried inside');
      equal(value(snap, 'happen_handler_failures_total', { node: 'w', type: 'flaky' }), 0, 'it succeeded in the end');
    }));

  test('the Prometheus text of a snapshot names every family once, with the system label', () =>
    observed({}, async ({ happen, obs }) => {
      const n = happen.createNode('n"quoted"\\node');
      n.on('x', () => undefined);
      n.broadcast({ type: 'x' });
      await happen.settled();
      const text = toPrometheus(await obs.metrics());
      ok(text.includes('happen_events_in_total{node="n\\"quoted\\"\\\\node",type="x",system="sys"} 1'), 'escaped label values');
      equal(text.split('\n').filter((l) => l === '# TYPE happen_events_in_total counter').length, 1);
      ok(text.includes('happen_handler_duration_seconds_bucket{node="n\\"quoted\\"\\\\node",type="x",system="sys",le="+Inf"} 1'));
      ok(text.endsWith('\n'));
    }));
});

describe('observability: health and alerts', () => {
  test('health: error rate and mean latency over the window; the window slides; status follows the rates', () =>
    observed({ health: { windowMs: 1_000, slots: 4, minEvents: 4, degradedErrorRate: 0.2, failingErrorRate: 0.5 }, metrics: { timingEvery: 1 } }, async ({ happen, obs, clock }) => {
      const w = happen.createNode('w');
      w.on('job', (e) => {
        clock.t += 10;
        if (e.payload.fail) throw new Error('failed');
      });
      const ui = happen.createNode('ui');
      const run = async (fail: boolean) => ui.send('w', { type: 'job', payload: { fail } }).return().catch(() => undefined);
      for (const fail of [true, true, false]) await run(fail);
      let h = obs.nodeHealth('w')!;
      equal(h.status, 'ok', 'three handlings are too few to judge');
      equal(Math.round(h.errorRate * 100), 67);
      equal(h.avgLatencyMs, 10);
      await run(false);
      h = obs.nodeHealth('w')!;
      equal(h.status, 'failing', '2 of 4 failed');
      equal(h.errorRate, 0.5);
      equal(h.lastSeen, clock.t - 10, 'when it last handled');
      clock.t += 1_500; // the whole window has passed
      h = obs.nodeHealth('w')!;
      equal(h.errorRate, 0);
      equal(h.avgLatencyMs, 0);
      equal(h.status, 'ok');
      equal(h.failures, 2, 'totals stay');
      for (const fail of [false, false, false, true]) await run(fail);
      equal(obs.nodeHealth('w')!.status, 'degraded', '1 in 4');
      const sys = await obs.health();
      equal(sys.system, 'sys');
      deepEqual(sys.nodes.map((n) => n.node).sort(), ['happen.ops.sys', 'ui', 'w']);
      deepEqual(sys.queue, { depth: 0, oldestAgeMs: 0 });
      equal(sys.deadLetters, 0);
      equal(sys.peers, 0);
      equal(obs.nodeHealth('never-there'), undefined);
    }));

  test('an alert fires once per crossing and resolves once when the value is back', () =>
    observed({ alerts: [{ name: 'errors', metric: 'errorRate', threshold: 0.5, minEvents: 2 }], health: { windowMs: 1_000, slots: 2 } }, async ({ happen, obs, clock }) => {
      const seen: AlertPayload[] = [];
      const pager = happen.createNode('pager');
      pager.on(ALERT_EVENT, (e: HappenEvent<AlertPayload>) => void seen.push(e.payload));
      const w = happen.createNode('w');
      w.on('job', (e) => {
        if (e.payload) throw new Error('x');
      });
      const send = (fail: boolean) => pager.send('w', { type: 'job', payload: fail }).return().catch(() => undefined);
      await send(true);
      deepEqual(obs.checkAlerts(), [], 'one handling is below minEvents');
      await send(true);
      const fired = obs.checkAlerts();
      equal(fired.length, 1);
      deepEqual(fired[0], { rule: 'errors', metric: 'errorRate', node: 'w', system: 'sys', value: 1, threshold: 0.5, state: 'firing', at: clock.t });
      await send(true);
      deepEqual(obs.checkAlerts(), [], 'still crossed: nothing new');
      deepEqual(obs.checkAlerts(), []);
      deepEqual(obs.firingAlerts(), [{ rule: 'errors', node: 'w', value: 1 }]);
      equal(obs.nodeHealth('w')!.status, 'degraded', 'an alerting node is at least degraded');
      const firing = find(await obs.metrics(), 'happen_alert_firing', { rule: 'errors', node: 'w' });
      ok(firing && 'value' in firing && firing.value === 1, 'the firing gauge');
      for (let i = 0; i < 3; i++) await send(false);
      const resolved = obs.checkAlerts();
      equal(resolved.length, 1);
      equal(resolved[0]!.state, 'resolved');
      equal(resolved[0]!.value, 0.5, '3 of 6 is at the threshold, not above it');
      deepEqual(obs.checkAlerts(), []);
      await send(true);
      equal(obs.checkAlerts()[0]?.state, 'firing', 'a new crossing fires again');
      clock.t += 5_000;
      equal(obs.checkAlerts()[0]?.state, 'resolved', 'an empty window resolves');
      await happen.settled();
      deepEqual(
        seen.map((a) => a.state),
        ['firing', 'resolved', 'firing', 'resolved'],
        'the alert events reached the subscriber, once per change',
      );
      equal(happen.events().find((e) => e.type === ALERT_EVENT)?.context.causal.sender, opsNodeId('sys'), 'sent by the ops node');
    }));

  test('a latency alert watches only the nodes its pattern names; the timer checks on its own', () =>
    observed(
      { alerts: [{ name: 'slow', metric: 'avgLatencyMs', threshold: 50, nodes: 'db.*', minEvents: 1 }], health: { checkEveryMs: 5 }, metrics: { timingEvery: 1 } },
      async ({ happen, clock }) => {
        const seen: AlertPayload[] = [];
        happen.createNode('pager').on(ALERT_EVENT, (e) => void seen.push(e.payload));
        for (const id of ['db.main', 'api']) {
          happen.createNode(id).on('q', () => {
            clock.t += 80;
          });
        }
        happen.createNode('ui').broadcast({ type: 'q' });
        await happen.settled();
        const deadline = Date.now() + 2_000;
        while (seen.length === 0 && Date.now() < deadline) await sleep(5);
        await sleep(20);
        deepEqual(
          seen.map((a) => [a.rule, a.node, a.state, a.value]),
          [['slow', 'db.main', 'firing', 80]],
          'api is as slow but not watched; fired once though checked many times',
        );
      },
    ));
});

describe('observability: the ops node', () => {
  test('answers health and metrics from another node; dead letters are empty without a durable mesh', () =>
    observed({}, async ({ happen }) => {
      const health = await ask<SystemHealth>(happen, 'cli', OPS_EVENTS.health);
      equal(health.system, 'sys');
      ok(health.nodes.some((n) => n.node === 'cli'));
      const metrics = await ask<MetricsSnapshot>(happen, 'cli', OPS_EVENTS.metrics);
      equal(metrics.system, 'sys');
      ok(metrics.metrics.some((f) => f.name === 'happen_events_out_total'));
      equal(value(metrics, 'happen_nodes', { where: 'local' }), 2);
      deepEqual(await ask(happen, 'cli', OPS_EVENTS.deadLetters, { limit: 5 }), []);
      deepEqual(await ask(happen, 'cli', OPS_EVENTS.redrive, { key: 'nope@x' }), { redriven: false });
      deepEqual(await ask(happen, 'cli', OPS_EVENTS.discard, { key: 'nope@x' }), { discarded: false });
    }));

  test('bad questions get typed errors, and the ops node keeps answering', () =>
    observed({}, async ({ happen }) => {
      isHappenError(await rejects(ask(happen, 'cli', OPS_EVENTS.deadLetters, { limit: 0 })), 'validation', 'INVALID_INPUT');
      isHappenError(await rejects(ask(happen, 'cli', OPS_EVENTS.deadLetters, { limit: 'all' })), 'validation', 'INVALID_INPUT');
      isHappenError(await rejects(ask(happen, 'cli', OPS_EVENTS.redrive, {})), 'validation', 'INVALID_INPUT');
      isHappenError(await rejects(ask(happen, 'cli', OPS_EVENTS.discard, { key: 42 })), 'validation', 'INVALID_INPUT');
      isHappenError(await rejects(ask(happen, 'cli', 'ops.unknown')), 'runtime', 'NO_HANDLER');
      equal((await ask<SystemHealth>(happen, 'cli', OPS_EVENTS.health)).system, 'sys');
    }));

  test('opsNode: false hosts none; alerts then come from the system itself', () =>
    observed({ opsNode: false, alerts: [{ name: 'e', metric: 'errorRate', threshold: 0, minEvents: 1 }] }, async ({ happen, obs }) => {
      equal(happen.getNode(opsNodeId('sys')), undefined);
      const w = happen.createNode('w');
      w.on('x', () => {
        throw new Error('x');
      });
      w.broadcast({ type: 'x' });
      await happen.settled();
      equal(obs.checkAlerts().length, 1);
      equal(happen.events().find((e) => e.type === ALERT_EVENT)?.context.causal.sender, 'sys');
    }));

  test('across a mesh: another system asks for metrics; dead letters are listed, redriven and discarded', async () => {
    const bus = memoryBus();
    const meshes: Mesh[] = [];
    const join = (id: string, obs?: Observability) => {
      // The ack deadline only has to outlast a busy runtime: the poison's `term` must arrive before it (at 100 ms it once did not, in a service worker).
      const m = mesh({ transports: [bus.transport()], heartbeatMs: 30, durable: { storage: memoryStorage(), ackTimeoutMs: 1_000, retry: { initialMs: 5, maxMs: 20 }, maxAttempts: 2 } });
      meshes.push(m);
      return { happen: createHappen({ id, extensions: [m], ...(obs ? { observability: obs } : {}) }), mesh: m };
    };
    const obs = observability();
    try {
      let accept = false;
      const receiver = join('sys-b');
      const posted: unknown[] = [];
      receiver.happen.createNode('ledger').on('post', (e) => {
        // One nacked until dead (it can be redriven), one terminated (the receiver remembers that answer).
        if (!accept) throw e.payload.amount === 1 ? new Error('ledger closed') : terminate('poison');
        posted.push(e.payload);
        return 'posted';
      });
      const sender = join('sys-a', obs);
      const src = sender.happen.createNode('src');
      await sender.mesh.waitForNode('ledger', { timeout: 2_000 });
      const operator = join('sys-ops');
      await operator.mesh.waitForNode(opsNodeId('sys-a'), { timeout: 2_000 });
      const cli = operator.happen.createNode('cli');
      const q = <T>(type: string, payload: unknown = {}) => cli.send<T>(opsNodeId('sys-a'), { type, payload }).return({ timeout: 2_000 });
      src.send('ledger', { type: 'post', payload: { amount: 1 } });
      src.send('ledger', { type: 'post', payload: { amount: 2 } });
      let letters: Array<{ key: string; event: HappenEvent; system?: string; attempts: number }> = [];
      const deadline = Date.now() + 3_000;
      while (letters.length < 2 && Date.now() < deadline) {
        letters = await q(OPS_EVENTS.deadLetters);
        if (letters.length < 2) await sleep(10);
      }
      equal(letters.length, 2, 'both dead, listed by the ops node');
      ok(letters.every((l) => l.system === 'sys-b' && l.event.type === 'post' && l.key.endsWith('@sys-b')));
      equal((await q<unknown[]>(OPS_EVENTS.deadLetters, { limit: 1 })).length, 1);
      const health = await q<SystemHealth>(OPS_EVENTS.health);
      equal(health.deadLetters, 2);
      ok(health.peers >= 2, 'the receiver and the operator');
      const snap = await q<MetricsSnapshot>(OPS_EVENTS.metrics);
      equal(value(snap, 'happen_dead_letters'), 2);
      equal(value(snap, 'happen_dead_letters_total'), 2, 'the mesh.dead-letter reports were counted');
      ok((value(snap, 'happen_mesh_frames_out_total') ?? 0) > 0);
      ok((value(snap, 'happen_nodes', { where: 'remote' }) ?? 0) >= 2, 'ledger and cli');
      accept = true;
      const nacked = letters.find((l) => (l.event.payload as { amount: number }).amount === 1)!;
      const poison = letters.find((l) => l !== nacked)!;
      equal((poison as { lastError?: { code: string } }).lastError?.code, 'DELIVERY_TERMINATED');
      deepEqual(await q(OPS_EVENTS.redrive, { key: nacked.key }), { redriven: true });
      deepEqual(await q(OPS_EVENTS.discard, { key: poison.key }), { discarded: true });
      deepEqual(await q(OPS_EVENTS.discard, { key: poison.key }), { discarded: false }, 'already gone');
      const until = Date.now() + 3_000;
      while ((await q<unknown[]>(OPS_EVENTS.deadLetters)).length > 0 && Date.now() < until) await sleep(10);
      deepEqual(await q(OPS_EVENTS.deadLetters), []);
      const by = Date.now() + 2_000;
      while (posted.length === 0 && Date.now() < by) await sleep(10);
      deepEqual(posted, [{ amount: 1 }], 'the redriven event was handled');
    } finally {
      await obs.close();
      await Promise.all(meshes.map((m) => m.close()));
      await sleep(1);
    }
  });
});

describe('observability: configuration', () => {
  test('bad options are INVALID_CONFIG at once', () => {
    const bad: unknown[] = [
      { metrix: true },
      { metrics: 'yes' },
      { metrics: { buckets: [] } },
      { metrics: { buckets: [5, 1] } },
      { metrics: { buckets: [0] } },
      { metrics: { timingEvery: 0 } },
      { metrics: { maxTypesPerNode: 1.5 } },
      { samplingRate: 2 },
      { health: { windowMs: 0 } },
      { health: { slots: 10, windowMs: 5 } },
      { health: { degradedErrorRate: 0.9, failingErrorRate: 0.5 } },
      { health: { bogus: 1 } },
      { alerts: {} },
      { alerts: [{ name: 'a', metric: 'errorRate', threshold: 1 }] },
      { alerts: [{ name: 'a', metric: 'p99', threshold: 1 }] },
      { alerts: [{ name: '', metric: 'errorRate', threshold: 0.1 }] },
      { alerts: [{ name: 'a', metric: 'avgLatencyMs', threshold: -1 }] },
      { alerts: [{ name: 'a', metric: 'avgLatencyMs', threshold: 1, nodes: '' }] },
      { alerts: [{ name: 'a', metric: 'errorRate', threshold: 0.1, minEvents: 0 }] },
      { opsNode: 'yes' },
      { now: 5 },
      { mesh: {} },
      { tracing: 'on' },
      { tracing: { exporter: memorySpanExporter() }, samplingRate: 0.5, metrics: true, health: {}, alerts: [], opsNode: true, extra: 1 },
      { tracing: { exporter: memorySpanExporter(), samplingRate: 0.2 }, samplingRate: 0.1 },
      { alerts: [{ name: 'a', metric: 'errorRate', threshold: 0.1 }, { name: 'a', metric: 'errorRate', threshold: 0.2 }] },
    ];
    for (const options of bad) isHappenError(throws(() => observability(options as ObservabilityOptions), JSON.stringify(options)), 'validation', 'INVALID_CONFIG');
    const once = observability();
    createHappen({ id: 'one', observability: once });
    isHappenError(throws(() => createHappen({ id: 'two', observability: once })), 'validation', 'INVALID_CONFIG');
    isHappenError(throws(() => createHappen({ id: 'has space', observability: observability() })), 'validation', 'INVALID_CONFIG');
    createHappen({ id: 'has space', observability: observability({ opsNode: false }) });
    isHappenError(throws(() => observability().nodeHealth('x')), 'runtime', 'NOT_ATTACHED');
  });

  test('tracing: the options make a tracer sampling at samplingRate, whose spans and counters show', () =>
    observed({ tracing: { exporter: memorySpanExporter() }, samplingRate: 1 }, async ({ happen, obs }) => {
      ok(obs.tracer, 'a tracer');
      equal(obs.tracer!.samplingRate, 1);
      happen.createNode('b').on('t', () => undefined);
      happen.createNode('a').broadcast({ type: 't' });
      await happen.settled();
      ok(obs.tracer!.stats().spans >= 2, 'an emit span and a handling span');
      ok((value(await obs.metrics(), 'happen_trace_spans_total') ?? 0) >= 2);
    }));

  test('metrics: false keeps the ops node and counts nothing per event', () =>
    observed({ metrics: false }, async ({ happen, obs }) => {
      happen.createNode('a').on('x', () => undefined);
      happen.getNode('a')!.broadcast({ type: 'x' });
      await happen.settled();
      const snap = await obs.metrics();
      equal(snap.metrics.find((f) => f.name === 'happen_events_in_total'), undefined);
      equal(value(snap, 'happen_nodes', { where: 'local' }), 2);
      equal((await ask<SystemHealth>(happen, 'cli', OPS_EVENTS.health)).system, 'sys');
    }));
});
