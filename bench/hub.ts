/**
 * The hub on Node against a bare WebSocket relay (the `ws` package forwarding every message to every
 * other client), in the same run: events/s one way through each, and the round-trip latency
 * distribution (p50/p99) of Happen's send→return vs a raw ping-pong through the bare relay. A third
 * contender, the same relay carrying frames encoded, batched and decoded by Happen's codec, shows how
 * much of the cost is the wire work itself.
 */
import WebSocket, { WebSocketServer } from 'ws';
import { build } from 'esbuild';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serveHub } from '../src/cli/hub-node.ts';
import { createHappen } from '../src/index.ts';
import { mesh, type Mesh } from '../src/mesh/index.ts';
import { forEachFrameRange } from '../src/transports/batch.ts';
import { createBatcher } from '../src/transports/batcher.ts';
import { decodeFrame, encodeFrame } from '../src/transports/codec.ts';
import type { Frame } from '../src/transports/frames.ts';
import type { FrameData } from '../src/transports/transport.ts';
import { websocket } from '../src/transports/websocket.ts';

const EVENTS = 5_000;
const ROUND_TRIPS = 1_000;
const ROUNDS = 9;
const WARM_UP_MS = 1000;

interface Figures {
  eventsPerSecond: number;
  /** CPU time (user + system) of this process per event one way, µs: steadier than wall time on a shared machine. */
  cpuPerEvent: number;
  p50: number;
  p99: number;
}

/** Times a one-way burst: wall-clock events/s and CPU µs per event. */
async function burst(run: () => Promise<void>): Promise<Pick<Figures, 'eventsPerSecond' | 'cpuPerEvent'>> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { eventsPerSecond: EVENTS / (wall / 1000), cpuPerEvent: (cpu.user + cpu.system) / EVENTS };
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
      const oneWay = await burst(async () => {
        for (let i = 0; i < EVENTS; i++) src.broadcast({ type: 'tick', payload: i });
        await arrived;
      });
      const rtts: number[] = [];
      for (let i = 0; i < ROUND_TRIPS; i++) {
        const s = performance.now();
        await src.send('sink', { type: 'ping', payload: i }).return();
        rtts.push(performance.now() - s);
      }
      rtts.sort((x, y) => x - y);
      return { ...oneWay, p50: percentile(rtts, 0.5), p99: percentile(rtts, 0.99) };
    },
    async close() {
      await Promise.all(meshes.map((m) => m.close()));
      await hub.close();
    },
  };
}

/**
 * The bare `ws` relay: it forwards every message to every other client. As `bare` its clients send the
 * bytes of one Happen event frame, encoded once, one message each — the relay Happen is measured
 * against. As `codec` each event is built, encoded with Happen's codec and batched by the mesh's
 * batcher (256 frames or 64 KiB a message), and the receiver splits and decodes every frame: the wire work alone, with
 * none of Happen's routing, checks or dispatch, which shows what of Happen's cost is the codec's.
 */
async function bareRelay(mode: 'bare' | 'codec'): Promise<{ measure(): Promise<Figures>; close(): Promise<void> }> {
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
  const frameOf = (id: string, payload: number): Frame => ({ v: 1, t: 'event', from: 'bench-a', event: { id, type: 'tick', payload, context: { causal: { id, sender: 'src', correlationId: id, path: ['src'], timestamp: Date.now() } } } });
  const frame = encodeFrame(frameOf('0mwt2bench0000000000001', 1)) as Uint8Array;
  let onB: (data: Buffer) => void = () => {};
  let onA: () => void = () => {};
  b.on('message', (data) => onB(data as Buffer));
  a.on('message', () => onA());
  const batcher = createBatcher<FrameData>((data) => a.send(data)); // the mesh's batching, with its default limits
  const sendOne = mode === 'bare' ? (_: number) => a.send(frame) : (i: number) => batcher.push(encodeFrame(frameOf(`0mwt2bench${String(i).padStart(13, '0')}`, i)));
  return {
    async measure() {
      let received = 0;
      const arrived = new Promise<void>((resolve) => {
        const count = () => {
          if (++received === EVENTS) resolve();
        };
        onB = mode === 'bare' ? count : (data) => forEachFrameRange(data, (start, end) => void (decodeFrame(data, { start, end }), count()));
      });
      const oneWay = await burst(async () => {
        for (let i = 0; i < EVENTS; i++) sendOne(i);
        await arrived;
      });
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
      return { ...oneWay, p50: percentile(rtts, 0.5), p99: percentile(rtts, 0.99) };
    },
    async close() {
      a.close();
      b.close();
      await new Promise((r) => server.close(r));
    },
  };
}

/** The per-round ratio of Happen to the bare relay for one figure, as median and spread. */
function ratios(runs: Record<Who, Figures[]>, key: keyof Figures, who: Who = 'happen'): { median: number; min: number; max: number } {
  const r = runs[who].map((h, i) => h[key] / runs.bare[i]![key]);
  return { median: median(r), min: Math.min(...r), max: Math.max(...r) };
}

/**
 * Runs the comparison on the library as it ships. The benches run under tsx, whose esbuild transform
 * keeps function names by wrapping every named closure in a `__name(...)` call made each time the
 * closure is created; the package is tsc output without that, and on this path it cost Happen ~30%.
 * So this file is bundled by esbuild (packages left external) and the bundle runs in plain `node`
 * (a tsx-loaded process would transform the bundle again).
 *
 * Each contender runs in a process of its own ({@link serveContender}). Both go through the same `ws`
 * code, and in one process whichever ran there first shaped how V8 compiled it for the other: the bare
 * relay's CPU per event came out 3.1 µs in some runs and 4.6 µs in others, which read as Happen at
 * 0.69 × or 0.96 ×. Apart, each gets code compiled for itself alone.
 */
export async function runHubBench(rounds = ROUNDS): Promise<void> {
  const outfile = fileURLToPath(new URL('../node_modules/.cache/happen-bench/hub.mjs', import.meta.url));
  await build({ entryPoints: [fileURLToPath(import.meta.url)], bundle: true, format: 'esm', platform: 'node', packages: 'external', outfile, logLevel: 'error' });
  const contenders = { happen: contenderProcess(outfile, 'happen'), bare: contenderProcess(outfile, 'bare'), codec: contenderProcess(outfile, 'codec') };
  try {
    await measureHub(contenders, rounds);
  } finally {
    for (const contender of Object.values(contenders)) contender.close();
  }
}

type Who = 'happen' | 'bare' | 'codec';
interface Contender {
  measure(): Promise<Figures>;
  close(): void | Promise<void>;
}

/** A contender in a child process, measured on request over its IPC channel. */
function contenderProcess(bundle: string, who: Who): Contender {
  const script = `import(${JSON.stringify(pathToFileURL(bundle).href)}).then((m) => m.serveContender(${JSON.stringify(who)}))`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`the hub bench's ${who} process exited with ${code}`))));
  exited.catch(() => {});
  return {
    measure: () => {
      const figures = new Promise<Figures>((resolve) => child.once('message', (m) => resolve(m as Figures)));
      child.send('measure');
      return Promise.race([figures, exited]);
    },
    close: () => void child.kill(),
  };
}

/** The child side of {@link contenderProcess}: sets up one contender and answers each request with its figures. */
export async function serveContender(who: Who): Promise<void> {
  const contender = await (who === 'happen' ? happenThroughHub() : bareRelay(who));
  process.on('message', async () => process.send!(await contender.measure()));
  process.on('disconnect', () => void contender.close().finally(() => process.exit(0)));
}

/**
 * Runs the three, interleaved round by round (alternating the order) after at least a second of
 * warm-up each (the JIT needs it: the first bursts run several times slower), and prints medians,
 * the median of the per-round ratios against the bare relay and their spread.
 */
async function measureHub(contenders: Record<Who, Contender>, rounds: number): Promise<void> {
  const runs: Record<Who, Figures[]> = { happen: [], bare: [], codec: [] };
  const all = ['happen', 'bare', 'codec'] as const;
  for (const who of all) {
    const until = performance.now() + WARM_UP_MS;
    while (performance.now() < until) await contenders[who].measure();
  }
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? all : [...all].reverse();
    for (const who of order) runs[who].push(await contenders[who].measure());
  }
  const med = (who: Who, key: keyof Figures) => median(runs[who].map((f) => f[key]));
  const µs = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
  const spread = (r: { min: number; max: number }) => `(rounds ${r.min.toFixed(2)}–${r.max.toFixed(2)})`;
  const throughput = ratios(runs, 'eventsPerSecond');
  const cpu = ratios(runs, 'cpuPerEvent');
  const p50 = ratios(runs, 'p50');
  console.log(`\nthrough the hub (Node) vs a bare ws relay — ${EVENTS} events one way, ${ROUND_TRIPS} round trips, ${rounds} interleaved rounds`);
  console.log(`  events/s      happen ${Math.round(med('happen', 'eventsPerSecond')).toLocaleString('en-US')}   bare relay ${Math.round(med('bare', 'eventsPerSecond')).toLocaleString('en-US')}   happen ÷ bare = ${throughput.median.toFixed(2)} ${spread(throughput)}`);
  console.log(`  CPU / event   happen ${med('happen', 'cpuPerEvent').toFixed(1)} µs   bare relay ${med('bare', 'cpuPerEvent').toFixed(1)} µs   bare ÷ happen = ${(1 / cpu.median).toFixed(2)} ${spread({ min: 1 / cpu.max, max: 1 / cpu.min })}`);
  console.log(`  round trip    happen p50 ${µs(med('happen', 'p50'))} p99 ${µs(med('happen', 'p99'))}   bare p50 ${µs(med('bare', 'p50'))} p99 ${µs(med('bare', 'p99'))}   p50 happen ÷ bare = ${p50.median.toFixed(2)} ${spread(p50)}`);
  const codec = ratios(runs, 'eventsPerSecond', 'codec');
  console.log(`  the wire work alone (Happen's codec and batching, no hub, no core): ${Math.round(med('codec', 'eventsPerSecond')).toLocaleString('en-US')} events/s, ${med('codec', 'cpuPerEvent').toFixed(1)} µs CPU an event, ÷ bare = ${codec.median.toFixed(2)} ${spread(codec)}`);
  console.log(`  target: events/s ≥ 0.8 × the bare relay — ${throughput.median >= 0.8 ? 'met' : 'NOT met'}`);
}
