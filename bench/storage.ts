/**
 * Event-log scenarios on a real backend (IndexedDB in Chromium, Durable Object storage in workerd):
 * appending 10,000 events through the log against the backend's own batched writes, and replaying
 * them into a node against reading them raw. Every run starts from an empty store (untimed), since
 * on-disk stores slow down as they fill. Run inside the runtime by the browser and edge benches.
 */
import { createHappen, type HappenEvent } from '../src/index.ts';
import { EventLog, replay, type Storage } from '../src/storage/index.ts';
import type { Scenario } from './harness.ts';

const EVENTS = 10_000;

/** A backend, both through Happen's adapter and through its own API. */
export interface Backend {
  /** Label of the raw contender, e.g. `idb put, batched`. */
  rawName: string;
  /** A fresh, empty Happen storage (the previous one may be dropped). */
  fresh(): Promise<Storage>;
  /** Empties the raw store. */
  resetRaw(): Promise<void>;
  /** Writes every event (key → event) in batched transactions, the way a careful hand-written log would. */
  writeRaw(events: Array<[string, HappenEvent]>): Promise<void>;
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

/** The append and replay scenarios for one backend. */
export function storageScenarios(label: string, backend: Backend): Scenario[] {
  const events = sampleEvents();
  const keyed = events.map((e, i): [string, HappenEvent] => [String(i + 1).padStart(15, '0'), e]);
  let storage: Storage | undefined;
  const append: Scenario = {
    name: `append ${EVENTS.toLocaleString('en-US')} events to the log (${label})`,
    ops: EVENTS,
    rounds: 5,
    warmUpRuns: 1,
    // ≥ 0.7× the raw throughput is ≤ 1/0.7 of its time per event.
    targets: [{ baseline: backend.rawName, maxRatio: 1 / 0.7 }],
    happen: {
      name: 'EventLog.append',
      prepare: async () => void (storage = await backend.fresh()),
      async run() {
        const log = new EventLog(storage!, 'bench');
        await Promise.all(events.map((e) => log.append(e)));
      },
    },
    baselines: [{ name: backend.rawName, prepare: () => backend.resetRaw(), run: () => backend.writeRaw(keyed) }],
  };
  // Replays the log the last append run left (its storage is kept until the next fresh()).
  const node = createHappen().createNode('rebuilt', { state: { total: 0 } });
  node.on('order.*', (e) => void node.state.set((s) => ({ total: s.total + e.payload.amount })));
  const replayScenario: Scenario = {
    name: `replay ${EVENTS.toLocaleString('en-US')} events from the log into a node (${label})`,
    ops: EVENTS,
    rounds: 5,
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
  return [append, replayScenario];
}
