/**
 * Event-log scenarios on a real backend (IndexedDB in Chromium, Durable Object storage in workerd):
 * appending 10,000 events through the log against the backend's own batched writes, and replaying
 * them into a node against reading them raw. Every run starts from an empty, open store (untimed,
 * for both sides), since on-disk stores slow down as they fill. Contenders are interleaved round by
 * round; besides the harness's medians each scenario reports the spread of its per-round ratios,
 * because wall time on a 2-core machine moves by tens of percent between runs.
 * Run inside the runtime by the browser and edge benches.
 */
import { createHappen, type HappenEvent } from '../src/index.ts';
import { EventLog, replay, type Storage } from '../src/storage/index.ts';
import { runScenario, type Contender, type Scenario, type ScenarioResult } from './harness.ts';

const EVENTS = 10_000;

/** A raw writer: every event (key → event) in batched transactions, the way a careful hand-written log would. */
export interface RawWriter {
  name: string;
  write(events: Array<[string, HappenEvent]>): Promise<void>;
}

/** A backend, both through Happen's adapter and through its own API. */
export interface Backend {
  /** The raw writer the target is measured against, then any others worth showing (no target). */
  raw: [RawWriter, ...RawWriter[]];
  /** Measured rounds per scenario (each round runs every contender once, in rotating order). */
  rounds: number;
  /** A fresh, empty Happen storage, already open (the previous one may be dropped). */
  fresh(): Promise<Storage>;
  /** Empties the raw store (and opens it). */
  resetRaw(): Promise<void>;
  /** Reads back every raw event; resolves to how many. */
  readRaw(): Promise<number>;
}

// Events shaped like real ones: full causal context, a small payload, 50 correlation trees.
function sampleEvents(): HappenEvent[] {
  return Array.from({ length: EVENTS }, (_, i) => {
    const id = `0000${i.toString(36).padStart(6, '0')}bench${i}`;
    const causal = { id, sender: 'orders', correlationId: `tree-${i % 50}`, causationId: i < 50 ? undefined : `prev-${i - 50}`, path: ['ui', 'orders'], timestamp: 1_700_000_000_000 + i };
    return { id, type: i % 3 === 0 ? 'order.created' : 'order.updated', payload: { orderId: i % 500, amount: (i * 7) % 1000, note: 'a typical small payload' }, context: { causal } };
  });
}

// Times every run of a contender (what the harness times too: run, not prepare), so the rounds'
// ratios can be paired afterwards.
function timed(c: Contender, times: number[]): Contender {
  return {
    ...c,
    async run(ops) {
      const start = performance.now();
      await c.run(ops);
      times.push(performance.now() - start);
    },
  };
}

/** Runs one scenario; the result's title gains the spread of the per-round ratios. */
async function runWithSpread(s: Scenario): Promise<ScenarioResult> {
  const times = new Map<string, number[]>([s.happen, ...s.baselines].map((c) => [c.name, []]));
  const result = await runScenario({
    ...s,
    happen: timed(s.happen, times.get(s.happen.name)!),
    baselines: s.baselines.map((b) => timed(b, times.get(b.name)!)),
  });
  const rounds = s.rounds!;
  const happen = times.get(s.happen.name)!.slice(-rounds); // the warm-up runs come first
  const spreads = s.baselines.map((b) => {
    const base = times.get(b.name)!.slice(-rounds);
    const ratios = happen.map((t, i) => t / base[i]!).sort((x, y) => x - y);
    const quartile = (q: number) => ratios[Math.round(q * (ratios.length - 1))]!.toFixed(2);
    return `÷ ${b.name}: min ${quartile(0)}, quartiles ${quartile(0.25)}–${quartile(0.75)}, max ${quartile(1)}`;
  });
  return { ...result, scenario: `${result.scenario}\n  per-round ratios over ${rounds} rounds — ${spreads.join('; ')}` };
}

/** The append and replay scenarios for one backend, run; their results. */
export async function runStorageScenarios(label: string, backend: Backend): Promise<ScenarioResult[]> {
  const events = sampleEvents();
  const keyed = events.map((e, i): [string, HappenEvent] => [String(i + 1).padStart(15, '0'), e]);
  let storage: Storage | undefined;
  const [target] = backend.raw;
  const append: Scenario = {
    name: `append ${EVENTS.toLocaleString('en-US')} events to the log (${label})`,
    ops: EVENTS,
    rounds: backend.rounds,
    warmUpRuns: 1,
    // ≥ 0.7× the raw throughput is ≤ 1/0.7 of its time per event.
    targets: [{ baseline: target.name, maxRatio: 1 / 0.7 }],
    happen: {
      name: 'EventLog.append',
      prepare: async () => void (storage = await backend.fresh()),
      async run() {
        // A new log, as after a restart: it reads its head once, then group-commits the burst.
        const log = new EventLog(storage!, 'bench');
        await Promise.all(events.map((e) => log.append(e)));
      },
    },
    baselines: backend.raw.map((raw) => ({ name: raw.name, prepare: () => backend.resetRaw(), run: () => raw.write(keyed) })),
  };
  // Replays the log the last append run left (its storage is kept until the next fresh()).
  const node = createHappen().createNode('rebuilt', { state: { total: 0 } });
  node.on('order.*', (e) => void node.state.set((s) => ({ total: s.total + e.payload.amount })));
  const replayScenario: Scenario = {
    name: `replay ${EVENTS.toLocaleString('en-US')} events from the log into a node (${label})`,
    ops: EVENTS,
    rounds: backend.rounds,
    warmUpRuns: 1,
    happen: {
      name: 'replay(log, node)',
      async run() {
        const handled = await replay(new EventLog(storage!, 'bench'), node);
        if (handled !== EVENTS) throw new Error(`replayed ${handled} of ${EVENTS}`);
      },
    },
    baselines: [
      {
        name: 'raw read of the same events',
        async run() {
          const count = await backend.readRaw();
          if (count !== EVENTS) throw new Error(`read ${count} of ${EVENTS}`);
        },
      },
    ],
  };
  return [await runWithSpread(append), await runWithSpread(replayScenario)];
}
