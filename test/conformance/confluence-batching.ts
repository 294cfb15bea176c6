/** Event batching for throughput: frames on bus transports (mesh `batch`) and event-log writes (`batch`). */
import { createHappen, type HappenEvent } from '../../src/index.ts';
import { mesh, type Mesh } from '../../src/mesh/index.ts';
import { EventLog } from '../../src/storage/event-log.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import type { Storage } from '../../src/storage/storage.ts';
import type { BatchOptions } from '../../src/transports/batch.ts';
import { forEachFrame } from '../../src/transports/batch.ts';
import { createBatcher } from '../../src/transports/batcher.ts';
import { memoryBus, type MemoryBus } from '../../src/transports/memory.ts';
import type { FrameData, FrameRoute } from '../../src/transports/transport.ts';
import { deepEqual, equal, isHappenError, ok, sleep, throws } from './assert.ts';
import { describe, test } from './harness.ts';

/** Two systems on a fresh bus, the sender batching as asked; the receiver's `seen` collects `tick` payloads. */
async function pair(batch: BatchOptions | undefined, scenario: (send: (n: number) => void, seen: number[], bus: MemoryBus) => Promise<void>): Promise<void> {
  const bus = memoryBus();
  const quiet = { heartbeatMs: 60_000 }; // no heartbeat frame lands in a count
  const meshes: Mesh[] = [mesh({ transports: [bus.transport()], ...quiet, ...(batch ? { batch } : {}) }), mesh({ transports: [bus.transport()], ...quiet })];
  try {
    const sender = createHappen({ id: 'sender', extensions: [meshes[0]!] });
    const receiver = createHappen({ id: 'receiver', extensions: [meshes[1]!] });
    const seen: number[] = [];
    receiver.createNode('sink').on('tick', (e) => void seen.push(e.payload));
    const src = sender.createNode('src');
    await meshes[0]!.waitForNode('sink', { timeout: 2_000 });
    await meshes[1]!.waitForNode('src', { timeout: 2_000 });
    await sleep(batch?.delayMs ? batch.delayMs + 20 : 20); // presence answers (batched too) have landed
    await scenario((n) => void src.broadcast({ type: 'tick', payload: n }), seen, bus);
  } finally {
    await Promise.all(meshes.map((m) => m.close()));
    await sleep(1);
  }
}

async function until(check: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting for a condition');
    await sleep(2);
  }
}

/** A storage that records the size of every atomic batch written through it. */
function counting(storage: Storage): { storage: Storage; batches: number[] } {
  const batches: number[] = [];
  const wrapped = new Proxy(storage, {
    get(target, key) {
      if (key === 'batch') return (ops: unknown[], checks?: unknown[]) => (batches.push(ops.length), target.batch(ops as never, checks as never));
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { storage: wrapped, batches };
}

let seq = 0;
function event(type = 'log.entry'): HappenEvent {
  const id = `ev-${Date.now()}-${seq++}`;
  return { id, type, payload: { seq }, context: { causal: { id, sender: 'writer', correlationId: id, path: ['writer'], timestamp: Date.now() } } };
}

describe('confluence', () => {
  describe('event batching', () => {
    test('mesh batch.delayMs gathers frames sent a few ms apart into one message; without it each frame is one', async () => {
      for (const [batch, messages] of [[{ delayMs: 500 }, 1], [undefined, 3]] as const) {
        await pair(batch, async (send, seen, bus) => {
          const before = bus.frames;
          send(1);
          await sleep(4);
          send(2);
          await sleep(4);
          send(3);
          await until(() => seen.length === 3);
          deepEqual(seen, [1, 2, 3], 'in order');
          equal(bus.frames - before, messages, `messages on the bus with batch ${JSON.stringify(batch)}`);
        });
      }
    });

    test('mesh batch.maxFrames splits a burst; delayMs 0 batches one synchronous burst', async () => {
      await pair({ maxFrames: 2, delayMs: 300 }, async (send, seen, bus) => {
        const before = bus.frames;
        for (let n = 1; n <= 5; n++) send(n);
        await sleep(5);
        equal(bus.frames - before, 2, 'two full batches left at once; the fifth frame waits');
        await until(() => seen.length === 5);
        deepEqual(seen, [1, 2, 3, 4, 5]);
        equal(bus.frames - before, 3);
      });
      await pair({ delayMs: 0 }, async (send, seen, bus) => {
        const before = bus.frames;
        for (let n = 1; n <= 5; n++) send(n);
        await until(() => seen.length === 5);
        deepEqual(seen, [1, 2, 3, 4, 5]);
        equal(bus.frames - before, 1);
      });
    });

    test('closing a batching mesh sends what waits before the goodbye', async () => {
      const bus = memoryBus();
      const heard: number[] = [];
      const a = mesh({ transports: [bus.transport()], heartbeatMs: 60_000, batch: { delayMs: 5_000 } });
      const b = mesh({ transports: [bus.transport()], heartbeatMs: 60_000 });
      try {
        const sender = createHappen({ id: 'a', extensions: [a] });
        createHappen({ id: 'b', extensions: [b] }).createNode('sink').on('tick', (e) => void heard.push(e.payload));
        const src = sender.createNode('src');
        await a.ready;
        await b.ready;
        src.broadcast({ type: 'tick', payload: 1 });
        src.broadcast({ type: 'tick', payload: 2 });
        await sleep(10);
        deepEqual(heard, [], 'held by the delay');
        await a.close();
        await until(() => heard.length === 2);
        deepEqual(heard, [1, 2]);
      } finally {
        await Promise.all([a.close(), b.close()]);
        await sleep(1);
      }
    });

    test('the batcher: delay, byte limit, routes, explicit flush', async () => {
      const sent: Array<{ frames: number; route: FrameRoute | undefined }> = [];
      const write = (data: FrameData, route?: FrameRoute) => {
        let frames = 0;
        forEachFrame(data, () => frames++);
        sent.push({ frames, route });
      };
      const frame = (n: number) => new Uint8Array(10).fill(n);
      const delayed = createBatcher(write, { delayMs: 200 });
      delayed.push(frame(1), { node: 'x' });
      await sleep(5);
      delayed.push(frame(2), { node: 'x' });
      equal(sent.length, 0, 'held');
      await sleep(400);
      deepEqual(sent, [{ frames: 2, route: { node: 'x' } }], 'one message; its frames share a route');
      delayed.push(frame(3), { node: 'x' });
      delayed.push(frame(4), { node: 'y' });
      delayed.flush();
      deepEqual(sent[1], { frames: 2, route: undefined }, 'frames for different routes travel without one');
      const bytes = createBatcher(write, { delayMs: 5_000, maxBytes: 25 });
      bytes.push(frame(5));
      bytes.push(frame(6));
      equal(sent.length, 2, 'under the byte limit: held');
      bytes.push(frame(7));
      deepEqual(sent.slice(2).map((s) => s.frames), [2, 1], 'at the byte limit it leaves at once, split within the limit');
      for (const options of [{ maxFrames: 0 }, { maxFrames: 2.5 }, { maxBytes: 0 }, { delayMs: -1 }, { delayMs: Infinity }]) {
        isHappenError(throws(() => createBatcher(write, options)), 'validation', 'INVALID_CONFIG');
        isHappenError(throws(() => mesh({ transports: [memoryBus().transport()], batch: options })), 'validation', 'INVALID_CONFIG');
      }
    });

    test('the event log writes at most batch.maxEvents per atomic batch', async () => {
      const { storage, batches } = counting(memoryStorage());
      const log = new EventLog(storage, 'sized', { batch: { maxEvents: 10 } });
      const sequences = await Promise.all(Array.from({ length: 25 }, () => log.append(event())));
      deepEqual(sequences, Array.from({ length: 25 }, (_, i) => i + 1));
      deepEqual(batches, [12, 12, 7], 'events plus the index record and the head, per batch');
      equal((await log.read()).length, 25);
      const plain = counting(memoryStorage());
      const unbatched = new EventLog(plain.storage, 'default');
      await Promise.all(Array.from({ length: 25 }, () => unbatched.append(event())));
      deepEqual(plain.batches, [27], 'by default a burst of 25 is one batch');
    });

    test('the event log batch.delayMs gathers appends made a few ms apart; a full batch does not wait', async () => {
      // 500 ms, not tens: a busy service worker once let two 4 ms sleeps take over 40 ms.
      for (const [delayMs, expected] of [[500, [5]], [0, [3, 3, 3]]] as const) {
        const { storage, batches } = counting(memoryStorage());
        const log = new EventLog(storage, 'gathered', { batch: { delayMs } });
        const appends = [log.append(event())];
        await sleep(4);
        appends.push(log.append(event()));
        await sleep(4);
        appends.push(log.append(event()));
        deepEqual(await Promise.all(appends), [1, 2, 3]);
        deepEqual(batches, expected, `batches with delayMs ${delayMs}`);
      }
      const { storage, batches } = counting(memoryStorage());
      const log = new EventLog(storage, 'full', { batch: { maxEvents: 2, delayMs: 5_000 } });
      const started = Date.now();
      deepEqual(await Promise.all([log.append(event()), log.append(event())]), [1, 2]);
      ok(Date.now() - started < 1_000, 'written without waiting out the delay');
      deepEqual(batches, [4], 'the second append filled the batch the first was holding open');
      for (const batch of [{ maxEvents: 0 }, { maxEvents: 401 }, { maxEvents: 1.5 }, { delayMs: -1 }, { delayMs: Number.NaN }]) {
        isHappenError(throws(() => new EventLog(memoryStorage(), 'bad', { batch })), 'validation', 'INVALID_CONFIG');
      }
    });
  });
});
