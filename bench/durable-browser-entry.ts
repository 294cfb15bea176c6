/**
 * Durable emits in Chromium: a page's system whose every emit is written to the IndexedDB outbox
 * before it resolves, against the same mesh without `durable` (fire-and-forget: the emit resolves
 * once the frame is handed to the transport), emitting in batches of 100 (`Promise.all` of 100 emits,
 * one batch after another) over BroadcastChannel to a receiver in a dedicated worker
 * (durable-browser-worker.ts; the durable one keeps its inbox in IndexedDB and acks).
 * Two measures: `accepted`, until every emit has resolved (for the durable path: stored), and
 * `delivered`, until the receiver has handled every event — what the app can sustain, since an
 * outbox filling faster than it drains only defers the cost. Besides the default fire-and-forget
 * path (a tick's frames share a message), the one with `batch: false` (a message per frame, as before
 * BroadcastChannel coalesced), and for `accepted` the floor: one bare IndexedDB transaction writing a
 * batch's 100 events as one record, awaited, per batch — what any durable emit must wait for.
 */
import { createHappen, type HappenNode } from '../src/index.ts';
import { mesh, type Mesh } from '../src/mesh/index.ts';
import { openDB } from 'idb';
import { indexedDbStorage } from '../src/storage/indexeddb.ts';
import { broadcastChannel } from '../src/transports/broadcast-channel.ts';
import { runScenario, type Contender, type ScenarioResult } from './harness.ts';

const BATCH = 100;

async function until(check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('durable bench: timed out waiting for the outbox to drain');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Resolves once the worker's sink on `name` has handled `count` events in all. */
function handledInWorker(worker: Worker): (name: string, count: number) => Promise<void> {
  const waiting = new Map<string, () => void>();
  worker.addEventListener('message', ({ data }: MessageEvent) => waiting.get(data?.mesh)?.());
  return (name, count) =>
    new Promise<void>((resolve) => {
      waiting.set(name, resolve);
      worker.postMessage({ mesh: name, count });
    });
}

interface Sender {
  name: string;
  src: HappenNode;
  mesh: Mesh;
  sent: number;
}

type Kind = 'durable' | 'plain' | 'unbatched';

async function sender(name: string, kind: Kind, handled: (name: string, count: number) => Promise<void>): Promise<Sender> {
  const options = kind === 'durable' ? { durable: { storage: indexedDbStorage(`${name}-out`) } } : kind === 'unbatched' ? { batch: false as const } : {};
  const out = mesh({ transports: [broadcastChannel({ mesh: name })], ...options });
  const src = createHappen({ id: `${name}-a`, extensions: [out] }).createNode('src');
  await out.waitForNode('sink', { timeout: 5_000 });
  await src.emit({ type: 'tick', payload: -1 });
  await handled(name, 1); // the stream to the receiver is set up before anything is timed
  return { name, src, mesh: out, sent: 1 };
}

async function emitAll(s: Sender, ops: number): Promise<void> {
  for (let i = 0; i < ops; i += BATCH) {
    await Promise.all(Array.from({ length: BATCH }, (_, j) => s.src.emit({ type: 'tick', payload: i + j })));
  }
  s.sent += ops;
}

// Untimed before each run: what the last run emitted is handled and acked, so every run starts from an
// empty outbox and an idle receiver.
function contender(label: string, s: Sender, handled: (name: string, count: number) => Promise<void>, untilDelivered: boolean): Contender {
  return {
    name: label,
    prepare: async () => {
      await handled(s.name, s.sent);
      await until(() => s.mesh.queue().depth === 0);
    },
    async run(ops) {
      await emitAll(s, ops);
      if (untilDelivered) await handled(s.name, s.sent);
    },
  };
}

// The floor of any durable emit: per batch, one relaxed IndexedDB transaction storing the batch's events
// as one record (what the outbox writes), awaited before the next batch.
async function bareCommits(): Promise<Contender & { close(): void }> {
  const db = await openDB('bench-bare-commits', 1, { upgrade: (d) => void d.createObjectStore('chunks') });
  let n = 0;
  const event = (i: number) => ({ n: i, event: { id: `0mwt2bench${i}`, type: 'tick', payload: i, context: { causal: { id: `0mwt2bench${i}`, sender: 'src', correlationId: `0mwt2bench${i}`, path: ['src'], timestamp: Date.now() } } }, createdAt: Date.now() });
  return {
    name: 'bare IndexedDB commit per batch, accepted',
    async run(ops) {
      for (let i = 0; i < ops; i += BATCH) {
        const tx = db.transaction('chunks', 'readwrite', { durability: 'relaxed' });
        void tx.store.put(Array.from({ length: BATCH }, (_, j) => event(i + j)), `c/${n++ % 64}`);
        await tx.done;
      }
    },
    close: () => db.close(),
  };
}

(globalThis as { runDurableBench?: () => Promise<ScenarioResult[]> }).runDurableBench = async () => {
  const worker = new Worker('/worker.js', { type: 'module' });
  await new Promise((resolve) => worker.addEventListener('message', resolve, { once: true }));
  const handled = handledInWorker(worker);
  const durable = await sender('bench-durable', 'durable', handled);
  const plain = await sender('bench-plain', 'plain', handled);
  const unbatched = await sender('bench-unbatched', 'unbatched', handled);
  const bare = await bareCommits();
  const scenario = (what: 'accepted' | 'delivered') =>
    runScenario({
      name: `emits in batches of ${BATCH} to a worker over BroadcastChannel, until every one is ${what === 'accepted' ? 'accepted (emit resolved)' : 'delivered (handled by the receiver)'}`,
      ops: 1_000,
      rounds: 9,
      warmUpRuns: 2,
      happen: contender(`durable emit (IndexedDB), ${what}`, durable, handled, what === 'delivered'),
      baselines: [
        contender(`fire-and-forget emit, ${what}`, plain, handled, what === 'delivered'),
        contender(`fire-and-forget emit with batch: false, ${what}`, unbatched, handled, what === 'delivered'),
        ...(what === 'accepted' ? [bare] : []),
      ],
      // Durable ≥ 0.5× the fire-and-forget path's emits/s, i.e. at most 2× its time per emit.
      targets: [{ baseline: `fire-and-forget emit, ${what}`, maxRatio: 2 }],
    });
  try {
    return [await scenario('accepted'), await scenario('delivered')];
  } finally {
    await Promise.all([durable, plain, unbatched].map((s) => s.mesh.close()));
    bare.close();
    worker.terminate();
  }
};
