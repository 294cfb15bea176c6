/**
 * Durable delivery in real tabs (`/durable.html`), driven through `window.durableTab` by
 * `durable-tests.mjs`. A tab is one of:
 * - a **receiver**: its own Happen system, durable on IndexedDB, whose `sink` node records every `n` event;
 * - a **sender**: durable on IndexedDB, linked through a {@link gated} BroadcastChannel that the test
 *   can cut ("offline") and mend, emitting `n` events from its `src` node;
 * - a **consumer host**: runs the consumer system in a dedicated worker (`durable-worker.ts`) and
 *   terminates it at random moments mid-handler, each time starting a fresh one on the same storage.
 */
import { createHappen, type Happen, type HappenNode } from '../../src/index.ts';
import { mesh, type Mesh } from '../../src/mesh/index.ts';
import { indexedDbStorage } from '../../src/storage/indexeddb.ts';
import { broadcastChannel } from '../../src/transports/broadcast-channel.ts';
import { gated } from '../conformance/gated.ts';
import { ledgerSize, readLedger } from './durable-ledger.ts';


/** Small deadlines: a lost frame is resent within a few hundred ms, and nothing is ever dead-lettered here. */
const FAST = { ackTimeoutMs: 150, retry: { initialMs: 10, maxMs: 50 }, maxAttempts: 100_000 };

let happen: Happen | undefined;
let link: Mesh | undefined;
let cable: ReturnType<typeof gated> | undefined;
let src: HappenNode | undefined;
const got: Array<[number, string]> = [];

interface StartOptions {
  system: string;
  db: string;
  mesh: string;
  online?: boolean;
}

/** Starts a receiver system whose `sink` records `[payload, id]` of every `n` event, in handling order. */
async function startReceiver({ system, db, mesh: name }: StartOptions): Promise<void> {
  link = mesh({ transports: [broadcastChannel({ mesh: name })], heartbeatMs: 200, durable: { storage: indexedDbStorage(db), ...FAST } });
  happen = createHappen({ id: system, extensions: [link] });
  happen.createNode('sink').on('n', (event) => void got.push([event.payload as number, event.id]));
  await link.ready;
}

/** Starts a sender system (online or cut off) with one node, `src`. */
async function startSender({ system, db, mesh: name, online = true }: StartOptions): Promise<void> {
  cable = gated(broadcastChannel({ mesh: name }), online);
  link = mesh({ transports: [cable.transport], heartbeatMs: 200, durable: { storage: indexedDbStorage(db), ...FAST } });
  happen = createHappen({ id: system, extensions: [link] });
  src = happen.createNode('src');
  await link.ready;
}

/** Emits `n` events with payloads `from`, `from + 1`, ... one after another, each awaited (stored); returns their ids. */
async function emitEach(from: number, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = from; i < from + count; i++) ids.push((await src!.emit({ type: 'n', payload: i })).id);
  return ids;
}

/**
 * Emits `count` events in batches of `batch` (`Promise.all` of their emits), spread over `nodes`
 * nodes of this system (event `i` from node `i % nodes`); returns their ids by payload. Core runs a
 * node's outgoing steps one event at a time, so one node's durable emits cost one outbox write each;
 * the emits of several nodes share writes.
 */
async function emitBatches(type: string, count: number, batch: number, nodes = 1): Promise<{ ids: string[]; ms: number }> {
  const started = performance.now();
  const sources = Array.from({ length: nodes }, (_, k) => (k === 0 ? src! : happen!.createNode(`src-${k}`)));
  const ids: string[] = [];
  for (let i = 0; i < count; i += batch) {
    const events = await Promise.all(Array.from({ length: Math.min(batch, count - i) }, (_, j) => sources[(i + j) % nodes]!.emit({ type, payload: i + j })));
    for (const event of events) ids.push(event.id);
  }
  return { ids, ms: performance.now() - started };
}

// ---- the consumer host ----

interface ChaosOptions {
  system: string;
  db: string;
  ledger: string;
  mesh: string;
  kills: number;
  /** A kill comes after a random number of handler starts in [min, max]. */
  minStarts: number;
  maxStarts: number;
}

const chaos = { kills: 0, starts: 0, workers: 0, killedAt: [] as number[], done: false, error: undefined as string | undefined };

/**
 * Runs the consumer in a dedicated worker and terminates it `kills` times, each time after a random
 * number of handler starts (so the kill lands inside a handler or between its ledger write and the
 * durable ack), starting a fresh worker on the same storage right away. The last worker runs on.
 */
function runChaos(options: ChaosOptions): void {
  const { kills, minStarts, maxStarts } = options;
  const nextThreshold = () => minStarts + Math.floor(Math.random() * (maxStarts - minStarts + 1));
  const spawn = () => {
    chaos.workers++;
    const worker = new Worker('/durable-worker.js');
    let threshold = chaos.kills < kills ? nextThreshold() : Infinity;
    let seen = 0;
    worker.onerror = (e) => void (chaos.error ??= `consumer worker failed: ${e.message}`);
    worker.onmessage = (e: MessageEvent<{ started?: string; error?: string }>) => {
      if (e.data.error) chaos.error ??= e.data.error;
      if (e.data.started === undefined) return;
      chaos.starts++;
      if (++seen < threshold) return;
      threshold = Infinity;
      worker.terminate(); // as abrupt as a browser gets: its IndexedDB transactions in flight abort
      chaos.kills++;
      chaos.killedAt.push(chaos.starts);
      spawn();
    };
    worker.postMessage({ system: options.system, db: options.db, ledger: options.ledger, mesh: options.mesh });
  };
  spawn();
}

(globalThis as Record<string, unknown>).durableTab = {
  startReceiver,
  startSender,
  emitEach,
  emitBatches,
  cut: () => cable!.cut(),
  mend: () => cable!.mend(),
  got: () => got,
  count: () => got.length,
  queue: () => link!.queue(),
  deadLetters: async () => (await link!.deadLetters.list()).length,
  peers: () => link!.peers().map((p) => p.system),
  waitForNode: (id: string) => link!.waitForNode(id, { timeout: 10_000 }),
  runChaos,
  chaos: () => chaos,
  readLedger,
  ledgerSize,
};
