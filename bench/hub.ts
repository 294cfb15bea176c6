/**
 * The hub on Node against a bare WebSocket relay (the `ws` package forwarding every message to every
 * other client), in the same run: events/s one way through each, and the round-trip latency
 * distribution (p50/p99) of Happen's send→return vs a raw ping-pong through the bare relay.
 */
import WebSocket, { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { serveHub } from '../src/cli/hub-node.ts';
import { createHappen } from '../src/index.ts';
import { mesh, type Mesh } from '../src/mesh/index.ts';
import { encodeFrame } from '../src/transports/codec.ts';
import { websocket } from '../src/transports/websocket.ts';

const EVENTS = 5_000;
const ROUND_TRIPS = 1_000;
const ROUNDS = 5;

interface Figures {
  eventsPerSecond: number;
  p50: number;
  p99: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function happenThroughHub(): Promise<{ measure(): Promise<Figures>; close(): Promise<void> }> {
  const hub = await serveHub({ port: 0 });
  const url = `${hub.url}/mesh/bench`;
  const meshes: Mesh[] = [];
  const join = (id: string) => {
    const m = mesh({ transports: [websocket(url, { WebSocket })] });
    meshes.push(m);
    return { happen: createHappen({ id, extensions: [m] }), mesh: m };
  };
  const a = join('bench-a');
  const b = join('bench-b');
  let received = 0;
  let done: (() => void) | undefined;
  const sink = b.happen.createNode('sink');
  sink.on('tick', () => {
    if (++received === EVENTS) done?.();
  });
  sink.on('ping', (e) => e.payload);
  const src = a.happen.createNode('src');
  await a.mesh.waitForNode('sink', { timeout: 5_000 });
  await b.mesh.waitForNode('src', { timeout: 5_000 });
  return {
    async measure() {
      received = 0;
      const arrived = new Promise<void>((r) => (done = r));
      const t0 = performance.now();
      for (let i = 0; i < EVENTS; i++) src.broadcast({ type: 'tick', payload: i });
      await arrived;
      const eventsPerSecond = EVENTS / ((performance.now() - t0) / 1000);
      const rtts: number[] = [];
      for (let i = 0; i < ROUND_TRIPS; i++) {
        const s = performance.now();
        await src.send('sink', { type: 'ping', payload: i }).return();
        rtts.push(performance.now() - s);
      }
      rtts.sort((x, y) => x - y);
      return { eventsPerSecond, p50: percentile(rtts, 0.5), p99: percentile(rtts, 0.99) };
    },
    async close() {
      await Promise.all(meshes.map((m) => m.close()));
      await hub.close();
    },
  };
}

async function bareRelay(): Promise<{ measure(): Promise<Figures>; close(): Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  server.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      for (const other of server.clients) if (other !== socket && other.readyState === WebSocket.OPEN) other.send(data, { binary: isBinary });
    });
  });
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const open = (ws: WebSocket) => new Promise((r) => ws.once('open', r));
  const a = new WebSocket(url);
  const b = new WebSocket(url);
  await Promise.all([open(a), open(b)]);
  // The same bytes Happen puts on the wire for one event, so only the work around them differs.
  const id = '0mwt2bench0000000000001';
  const frame = encodeFrame({ v: 1, t: 'event', from: 'bench-a', event: { id, type: 'tick', payload: 1, context: { causal: { id, sender: 'src', correlationId: id, path: ['src'], timestamp: Date.now() } } } }) as Uint8Array;
  let onB: (data: Buffer) => void = () => {};
  let onA: () => void = () => {};
  b.on('message', (data) => onB(data as Buffer));
  a.on('message', () => onA());
  return {
    async measure() {
      let received = 0;
      const arrived = new Promise<void>((resolve) => {
        onB = () => {
          if (++received === EVENTS) resolve();
        };
      });
      const t0 = performance.now();
      for (let i = 0; i < EVENTS; i++) a.send(frame);
      await arrived;
      const eventsPerSecond = EVENTS / ((performance.now() - t0) / 1000);
      onB = (data) => b.send(data); // echo back through the relay
      const rtts: number[] = [];
      for (let i = 0; i < ROUND_TRIPS; i++) {
        const s = performance.now();
        await new Promise<void>((resolve) => {
          onA = resolve;
          a.send(frame);
        });
        rtts.push(performance.now() - s);
      }
      rtts.sort((x, y) => x - y);
      return { eventsPerSecond, p50: percentile(rtts, 0.5), p99: percentile(rtts, 0.99) };
    },
    async close() {
      a.close();
      b.close();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Runs both, interleaved round by round, and prints medians and the ratios against the bare relay. */
export async function runHubBench(): Promise<void> {
  const happen = await happenThroughHub();
  const bare = await bareRelay();
  const runs: { happen: Figures[]; bare: Figures[] } = { happen: [], bare: [] };
  try {
    await happen.measure(); // warm-up
    await bare.measure();
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['happen', 'bare'] as const : ['bare', 'happen'] as const;
      for (const who of order) runs[who].push(await (who === 'happen' ? happen : bare).measure());
    }
  } finally {
    await happen.close();
    await bare.close();
  }
  const med = (who: 'happen' | 'bare', key: keyof Figures) => median(runs[who].map((f) => f[key]));
  const throughput = med('happen', 'eventsPerSecond') / med('bare', 'eventsPerSecond');
  console.log(`\nthrough the hub (Node) vs a bare ws relay — ${EVENTS} events one way, ${ROUND_TRIPS} round trips, median of ${ROUNDS} rounds`);
  console.log(`  events/s      happen ${Math.round(med('happen', 'eventsPerSecond')).toLocaleString('en-US')}   bare relay ${Math.round(med('bare', 'eventsPerSecond')).toLocaleString('en-US')}   happen ÷ bare = ${throughput.toFixed(2)}`);
  console.log(`  round trip    happen p50 ${(med('happen', 'p50') * 1000).toFixed(0)} µs p99 ${(med('happen', 'p99') * 1000).toFixed(0)} µs   bare p50 ${(med('bare', 'p50') * 1000).toFixed(0)} µs p99 ${(med('bare', 'p99') * 1000).toFixed(0)} µs`);
  console.log(`  target: events/s ≥ 0.8 × the bare relay — ${throughput >= 0.8 ? 'met' : 'NOT met'}`);
}
