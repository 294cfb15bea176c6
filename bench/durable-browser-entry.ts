/**
 * Durable emits in a Chromium page: a meshed system whose every emit is written to the IndexedDB
 * outbox before it resolves, against the same mesh without `durable` (fire-and-forget: the emit
 * resolves once the frame is handed to the transport), emitting in batches of 100 (`Promise.all`
 * of 100 emits, one batch after another). Both send over BroadcastChannel to a receiver system in
 * the same page, so both pay for the same channel and receiving work; the durable one's receiver is
 * durable too and acks, and its outbox is drained between timed runs.
 */
import { createHappen, type HappenNode } from '../src/index.ts';
import { mesh, type Mesh } from '../src/mesh/index.ts';
import { indexedDbStorage } from '../src/storage/indexeddb.ts';
import { broadcastChannel } from '../src/transports/broadcast-channel.ts';
import { runScenario, type Contender, type ScenarioResult } from './harness.ts';

const BATCH = 100;

async function until(check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('durable bench: timed out waiting for the outbox to drain');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function pair(name: string, durable: boolean): Promise<{ src: HappenNode; sender: Mesh; close(): Promise<void> }> {
  const options = (db: string) => (durable ? { durable: { storage: indexedDbStorage(`${name}-${db}`) } } : {});
  const sender = mesh({ transports: [broadcastChannel({ mesh: name })], ...options('out') });
  const receiver = mesh({ transports: [broadcastChannel({ mesh: name })], ...options('in') });
  const a = createHappen({ id: `${name}-a`, extensions: [sender] });
  const b = createHappen({ id: `${name}-b`, extensions: [receiver] });
  let heard = 0;
  b.createNode('sink').on('tick', () => void heard++);
  const src = a.createNode('src');
  await sender.waitForNode('sink', { timeout: 5_000 });
  await src.emit({ type: 'tick', payload: -1 });
  await until(() => heard === 1); // the stream to the receiver is set up before anything is timed
  return {
    src,
    sender,
    close: async () => {
      await sender.close();
      await receiver.close();
    },
  };
}

function contender(name: string, src: HappenNode, prepare?: () => Promise<void>): Contender {
  return {
    name,
    ...(prepare ? { prepare } : {}),
    async run(ops) {
      for (let i = 0; i < ops; i += BATCH) {
        await Promise.all(Array.from({ length: BATCH }, (_, j) => src.emit({ type: 'tick', payload: i + j })));
      }
    },
  };
}

(globalThis as { runDurableBench?: () => Promise<ScenarioResult[]> }).runDurableBench = async () => {
  const durable = await pair('bench-durable', true);
  const plain = await pair('bench-plain', false);
  try {
    // Untimed: the previous run's events are delivered and acked, so every run starts from an empty outbox.
    const drained = () => until(() => durable.sender.queue().depth === 0);
    return [
      await runScenario({
        name: `emits in batches of ${BATCH}: durable (IndexedDB outbox) vs fire-and-forget, over BroadcastChannel`,
        ops: 1_000,
        rounds: 7,
        warmUpRuns: 2,
        happen: contender('durable emit (IndexedDB)', durable.src, drained),
        baselines: [contender('fire-and-forget emit', plain.src)],
        // Durable ≥ 0.5× the in-memory path's emits/s, i.e. at most 2× its time per emit.
        targets: [{ baseline: 'fire-and-forget emit', maxRatio: 2 }],
      }),
    ];
  } finally {
    await durable.close();
    await plain.close();
  }
};
