/**
 * A tiny benchmark harness: each scenario runs Happen and its baselines in the same process,
 * interleaved round by round (rotating who goes first), and reports the median cost per operation
 * and the median of the per-round ratios — robust against a noisy machine.
 */
export interface Contender {
  name: string;
  /** Performs `ops` operations (and waits for them to complete). */
  run(ops: number): void | Promise<void>;
  /** Untimed set-up before each run (e.g. a fresh, empty database). */
  prepare?(): Promise<void>;
}

export interface Scenario {
  name: string;
  ops: number;
  happen: Contender;
  baselines: Contender[];
  /** Measured rounds (default 21); slow I/O scenarios use fewer. */
  rounds?: number;
  /** Warm-up runs per contender (default 3, and at least 1 s). */
  warmUpRuns?: number;
  /** Targets: the most Happen may cost, as a multiple of a baseline. */
  targets?: Array<{ baseline: string; maxRatio: number }>;
}

export interface ScenarioResult {
  scenario: string;
  nsPerOp: Record<string, number>;
  ratios: Record<string, number>;
  targets: Array<{ baseline: string; maxRatio: number; met: boolean }>;
}

const ROUNDS = 21;
const WARM_UP_RUNS = 3;
const WARM_UP_MS = 1000;

async function timeOnce(c: Contender, ops: number): Promise<number> {
  await c.prepare?.();
  const start = performance.now();
  await c.run(ops);
  return ((performance.now() - start) * 1e6) / ops;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs one scenario: a warm-up, then interleaved rounds; returns medians and median ratios. */
export async function runScenario(s: Scenario): Promise<ScenarioResult> {
  const all = [s.happen, ...s.baselines];
  // Warm-up: every contender runs until its JIT tiers settle (Chromium needs several runs, one is
  // not enough: the first scenario measured would otherwise pay for compilation).
  const warmUpRuns = s.warmUpRuns ?? WARM_UP_RUNS;
  const warmUpMs = s.warmUpRuns === undefined ? WARM_UP_MS : 0;
  for (const c of all) {
    const until = performance.now() + warmUpMs;
    for (let run = 0; run < warmUpRuns || performance.now() < until; run++) await timeOnce(c, s.ops);
  }
  const samples = new Map<string, number[]>(all.map((c) => [c.name, []]));
  const roundRatios = new Map<string, number[]>(s.baselines.map((b) => [b.name, []]));
  for (let round = 0; round < (s.rounds ?? ROUNDS); round++) {
    const order = all.map((_, i) => all[(i + round) % all.length]!);
    const times = new Map<string, number>();
    for (const c of order) times.set(c.name, await timeOnce(c, s.ops));
    for (const [name, ns] of times) samples.get(name)!.push(ns);
    for (const b of s.baselines) roundRatios.get(b.name)!.push(times.get(s.happen.name)! / times.get(b.name)!);
  }
  const nsPerOp = Object.fromEntries([...samples].map(([name, v]) => [name, median(v)]));
  const ratios = Object.fromEntries([...roundRatios].map(([name, v]) => [name, median(v)]));
  const targets = (s.targets ?? []).map((t) => ({ ...t, met: ratios[t.baseline]! <= t.maxRatio }));
  return { scenario: s.name, nsPerOp, ratios, targets };
}

/** Prints results as an aligned table. */
export function report(results: ScenarioResult[]): void {
  for (const r of results) {
    console.log(`\n${r.scenario}`);
    for (const [name, ns] of Object.entries(r.nsPerOp)) {
      const ratio = r.ratios[name];
      const vs = ratio === undefined ? '' : `   happen ÷ ${name} = ${ratio.toFixed(2)}`;
      const perSecond = Math.round(1e9 / ns).toLocaleString('en-US');
      console.log(`  ${name.padEnd(22)} ${ns.toFixed(0).padStart(9)} ns/op ${perSecond.padStart(12)}/s${vs}`);
    }
    for (const t of r.targets) console.log(`  target: happen ≤ ${t.maxRatio}× ${t.baseline} — ${t.met ? 'met' : 'NOT met'}`);
  }
}
