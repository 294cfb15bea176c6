/**
 * The cost of observability: the same workloads on a system with `observability({ metrics, tracing at
 * 10% sampling })` and on one without, interleaved in the same run. A sampled trace's spans go to a sink
 * that keeps nothing, so this is the cost of recording them, not of shipping them.
 * It runs as esbuild bundles it, the code apps ship: under tsx every closure created on the hot path
 * also pays for naming itself (its keepNames), which would triple what middleware seems to cost.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createHappen, type Happen } from '../src/index.ts';
import { mesh, type Mesh } from '../src/mesh/index.ts';
import { observability, type Observability } from '../src/observe/index.ts';
import { memoryBus } from '../src/transports/memory.ts';
import { runScenario, type Contender, type Scenario, type ScenarioResult } from './harness.ts';

const BURST = 1000;
/** The target: per-event cost with metrics and tracing at 10%, as a multiple of the same without. */
export const OBSERVE_TARGET = 1.3;

type Mode = 'off' | 'metrics' | 'metrics + tracing 10%';

const discard = { onEnd() {} };

function observed(mode: Mode): Observability | undefined {
  if (mode === 'off') return undefined;
  return observability({ metrics: true, ...(mode === 'metrics' ? {} : { tracing: { exporter: discard }, samplingRate: 0.1 }) });
}

function system(mode: Mode, extra: { id?: string; extensions?: Mesh[] } = {}): Happen {
  const obs = observed(mode);
  return createHappen({ ...extra, ...(obs ? { observability: obs } : {}) });
}

// A handler that does a little work, as real ones do: a payload read and an object built.
const work = (e: { payload: { n: number } }) => ({ n: e.payload.n + 1 });

/**
 * The least any tracer keeping Happen's protocol adds to a local broadcast, written into the handler so
 * no middleware machinery is counted: every event's sampling decision reads its correlation id (so
 * every system reaches the same decision with nothing extra on the wire; for a fresh id V8 first
 * flattens the concatenated string), a counter counts it, and one event in ten records a producer and
 * a consumer span from three clock readings (the producer's start doubling as its end).
 */
const FLOOR = 'floor';
const FLOOR_WORK = 'the id read, a counter, 3 clock reads + 2 span records per sampled event';

function broadcastFloor(): Contender {
  const happen = createHappen();
  let sink = 0;
  let counted = 0;
  let untilSampled = 10;
  const spans: Array<{ id: string; start: number; end: number }> = [];
  happen.createNode('sub').on('bench.tick', (e) => {
    counted++;
    sink += e.context.causal.correlationId.charCodeAt(20);
    if (--untilSampled > 0) return void (sink += work(e).n);
    untilSampled = 10;
    const emitted = performance.now();
    const start = performance.now();
    sink += work(e).n;
    spans.push({ id: e.id, start: emitted, end: emitted }, { id: e.id, start, end: performance.now() });
    if (spans.length >= 1000) spans.length = 0;
  });
  const ticks = broadcaster(happen);
  return {
    name: FLOOR,
    async run(ops) {
      await ticks(ops);
      if (counted < ops) throw new Error(`the floor handler ran ${counted} times for ${ops} events`);
      counted = 0;
    },
  };
}

// Broadcasts `ops` ticks from a source node in bursts, each burst settled before the next.
function broadcaster(happen: Happen): (ops: number) => Promise<void> {
  const source = happen.createNode('source');
  return async (ops) => {
    for (let done = 0; done < ops; done += BURST) {
      for (let i = 0; i < BURST; i++) source.broadcast({ type: 'bench.tick', payload: { n: i } });
      await happen.settled();
    }
  };
}

function broadcast(mode: Mode): Contender {
  const happen = system(mode);
  let sink = 0;
  happen.createNode('sub').on('bench.tick', (e) => void (sink += work(e).n));
  return { name: mode, run: broadcaster(happen) };
}

function roundTrip(mode: Mode): Contender {
  const happen = system(mode);
  happen.createNode('calc').on('calc.add', work);
  const ui = happen.createNode('ui');
  return {
    name: mode,
    async run(ops) {
      for (let i = 0; i < ops; i++) await ui.send('calc', { type: 'calc.add', payload: { n: i } }).return();
    },
  };
}

// Two systems meshed over an in-memory bus: the events cross a transport (encoded, decoded, ingested).
async function meshed(mode: Mode, closers: Mesh[]): Promise<Contender> {
  const bus = memoryBus();
  const a = mesh({ transports: [bus.transport()], heartbeatMs: 60_000 });
  const b = mesh({ transports: [bus.transport()], heartbeatMs: 60_000 });
  closers.push(a, b);
  const ui = system(mode, { id: `${slug(mode)}-a`, extensions: [a] }).createNode('ui');
  system(mode, { id: `${slug(mode)}-b`, extensions: [b] }).createNode('calc').on('calc.add', work);
  await a.waitForNode('calc', { timeout: 5_000 });
  return {
    name: mode,
    async run(ops) {
      for (let done = 0; done < ops; done += 100) {
        const replies: Array<Promise<unknown>> = [];
        for (let i = 0; i < 100; i++) replies.push(ui.send('calc', { type: 'calc.add', payload: { n: i } }).return());
        await Promise.all(replies);
      }
    },
  };
}

const slug = (mode: Mode) => mode.replace(/\W+/g, '-');

function scenario(name: string, ops: number, make: (mode: Mode) => Contender, floor?: Contender): Scenario {
  return {
    name,
    ops,
    targets: [{ baseline: 'off', maxRatio: OBSERVE_TARGET }],
    happen: make('metrics + tracing 10%'),
    baselines: [make('off'), make('metrics'), ...(floor ? [floor] : [])],
  };
}

/** The scenarios, and a close for the meshes they open. */
export async function observeScenarios(): Promise<{ scenarios: Scenario[]; close(): Promise<void> }> {
  const closers: Mesh[] = [];
  const meshedContenders = new Map<Mode, Contender>();
  for (const mode of ['metrics + tracing 10%', 'off', 'metrics'] as Mode[]) meshedContenders.set(mode, await meshed(mode, closers));
  return {
    scenarios: [
      scenario('local broadcast to 1 subscriber (per event)', 100_000, broadcast, broadcastFloor()),
      scenario('local send → return round trip', 20_000, roundTrip),
      scenario('send → return across two systems on an in-memory bus', 5_000, (mode) => meshedContenders.get(mode)!),
    ],
    close: async () => void (await Promise.all(closers.map((m) => m.close()))),
  };
}

/** One line per scenario: the cost of observability as a multiple of none. */
export function reportObserve(results: ScenarioResult[]): void {
  for (const r of results) {
    const all = r.ratios.off!;
    const metrics = all / r.ratios.metrics!;
    console.log(`  ${r.scenario}: metrics ${metrics.toFixed(2)}×, metrics + tracing 10% ${all.toFixed(2)}× the cost without (target ≤ ${OBSERVE_TARGET}×: ${all <= OBSERVE_TARGET ? 'met' : 'NOT met'})`);
    const floor = r.ratios[FLOOR];
    if (floor !== undefined) console.log(`    its floor (${FLOOR_WORK}) alone: ${(all / floor).toFixed(2)}× the cost without`);
  }
}

/** Runs every scenario here, in this process as it is. */
export async function runObserveScenarios(): Promise<ScenarioResult[]> {
  const { scenarios, close } = await observeScenarios();
  try {
    const results: ScenarioResult[] = [];
    for (const scenario of scenarios) results.push(await runScenario(scenario));
    return results;
  } finally {
    await close();
  }
}

/** Bundles this file with esbuild and runs its scenarios from the bundle. */
export async function runObserveBench(): Promise<ScenarioResult[]> {
  const { build } = await import('esbuild');
  // Inside node_modules, so the bundle's package imports resolve as they do from the repository.
  const dir = fileURLToPath(new URL('../node_modules/.cache/happen-bench/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const outfile = `${dir}observe-${process.pid}.mjs`;
  await build({ entryPoints: [fileURLToPath(import.meta.url)], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile, logLevel: 'error' });
  try {
    const bundled = (await import(pathToFileURL(outfile).href)) as { runObserveScenarios: typeof runObserveScenarios };
    return await bundled.runObserveScenarios();
  } finally {
    rmSync(outfile, { force: true });
  }
}
