import { createHappen, type HappenEvent } from '../src/index.ts';
import { mesh, type Mesh } from '../src/mesh/index.ts';
import { EventLog } from '../src/storage/event-log.ts';
import { memoryStorage } from '../src/storage/memory.ts';
import type { BatchOptions } from '../src/transports/batch.ts';
import { broadcastChannel } from '../src/transports/broadcast-channel.ts';
import type { Contender, Scenario } from './harness.ts';

// Event batching with a delay, against today's default (a burst shares a message or a transaction,
// a lone event does not). The load is a trickle: one event per task, the case a delay is for — a
// synchronous burst batches without one.

/** Yields to the next task without a timer's clamp (a host callback: MessageChannel in every runtime). */
function nextTask(): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  return new Promise((resolve) => {
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

/** Two systems on a BroadcastChannel; the sender's mesh batches as given. */
async function channelPair(name: string, batch: BatchOptions | undefined, closers: Mesh[]): Promise<Contender> {
  const sending = mesh({ transports: [broadcastChannel({ mesh: name })], heartbeatMs: 60_000, ...(batch ? { batch } : {}) });
  const receiving = mesh({ transports: [broadcastChannel({ mesh: name })], heartbeatMs: 60_000 });
  closers.push(sending, receiving);
  const src = createHappen({ id: `${name}-a`, extensions: [sending] }).createNode('src');
  let received = 0;
  let wake: (() => void) | undefined;
  let wanted = 0;
  createHappen({ id: `${name}-b`, extensions: [receiving] })
    .createNode('sink')
    .on('tick', () => {
      if (++received >= wanted) wake?.();
    });
  await sending.waitForNode('sink', { timeout: 5_000 });
  await receiving.waitForNode('src', { timeout: 5_000 });
  return {
    name: batch ? `batch ${JSON.stringify(batch)}` : 'unbatched',
    async run(ops) {
      received = 0;
      wanted = ops;
      const done = new Promise<void>((resolve) => (wake = resolve));
      for (let i = 0; i < ops; i++) {
        src.broadcast({ type: 'tick', payload: i });
        await nextTask();
      }
      await done;
    },
  };
}

let seq = 0;
function logged(): HappenEvent {
  const id = `bench-${seq++}`;
  return { id, type: 'bench.logged', payload: { seq }, context: { causal: { id, sender: 'bench', correlationId: id, path: ['bench'], timestamp: Date.now() } } };
}

/** Appends one event per task to a fresh log, then waits for every append. */
function trickleLog(batch: EventLogBatch | undefined): Contender {
  let log: EventLog;
  let round = 0;
  return {
    name: batch ? `log batch ${JSON.stringify(batch)}` : 'log default',
    async prepare() {
      log = new EventLog(memoryStorage(), `bench-${round++}`, batch ? { batch } : {});
    },
    async run(ops) {
      const appends: Array<Promise<number>> = [];
      for (let i = 0; i < ops; i++) {
        appends.push(log.append(logged()));
        await nextTask();
      }
      await Promise.all(appends);
    },
  };
}

type EventLogBatch = { maxEvents?: number; delayMs?: number };

/** The batching scenarios and a `close` for the meshes they keep open. */
export async function batchingScenarios(): Promise<{ scenarios: Scenario[]; close: () => Promise<void> }> {
  const meshes: Mesh[] = [];
  const delayed = await channelPair('bench-batch-delay', { delayMs: 2 }, meshes);
  const microtask = await channelPair('bench-batch-tick', { delayMs: 0 }, meshes);
  const plain = await channelPair('bench-batch-none', undefined, meshes);
  const scenarios: Scenario[] = [
    {
      name: '1,000 broadcasts, one per task, across a BroadcastChannel: mesh batch delayMs 2 vs none',
      ops: 1_000,
      rounds: 9,
      happen: delayed,
      baselines: [plain, microtask],
    },
    {
      name: '1,000 event-log appends, one per task, memory storage: batch delayMs 2 vs default',
      ops: 1_000,
      rounds: 9,
      happen: trickleLog({ delayMs: 2 }),
      baselines: [trickleLog(undefined)],
    },
  ];
  return { scenarios, close: async () => void (await Promise.all(meshes.map((m) => m.close()))) };
}
