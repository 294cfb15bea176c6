/**
 * A tiny benchmark harness: each scenario runs Happen and its baselines in the same process,
 * interleaved over several rounds, and reports the median cost per operation and the ratio.
 */
export interface Contender {
  name: string;
  /** Performs `ops` operations (and waits for them to complete). */
  run(ops: number): void | Promise<void>;
}

export interface Scenario {
  name: string;
  ops: number;
  happen: Contender;
  baselines: Contender[];
  /** Target ratio against the first baseline (Happen ÷ baseline), if the scenario has one. */
  target?: { baseline: string; maxRatio: number };
}

export interface ScenarioResult {
  scenario: string;
  nsPerOp: Record<string, number>;
  ratios: Record<string, number>;
  target?: { baseline: string; maxRatio: number; met: boolean };
}

const ROUNDS = 9;

async function timeOnce(c: Contender, ops: number): Promise<number> {
  const start = performance.now();
  await c.run(ops);
  return ((performance.now() - start) * 1e6) / ops;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs one scenario: a warm-up, then ROUNDS interleaved rounds; returns medians and ratios. */
export async function runScenario(s: Scenario): Promise<ScenarioResult> {
  const all = [s.happen, ...s.baselines];
  for (const c of all) await c.run(Math.ceil(s.ops / 4)); // warm-up: let the JIT settle
  const samples = new Map<string, number[]>(all.map((c) => [c.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of all) samples.get(c.name)!.push(await timeOnce(c, s.ops));
  }
  const nsPerOp = Object.fromEntries([...samples].map(([name, v]) => [name, median(v)]));
  const ratios = Object.fromEntries(s.baselines.map((b) => [b.name, nsPerOp[s.happen.name]! / nsPerOp[b.name]!]));
  const result: ScenarioResult = { scenario: s.name, nsPerOp, ratios };
  if (s.target) result.target = { ...s.target, met: ratios[s.target.baseline]! <= s.target.maxRatio };
  return result;
}

/** Prints results as an aligned table. */
export function report(results: ScenarioResult[]): void {
  for (const r of results) {
    console.log(`\n${r.scenario}`);
    for (const [name, ns] of Object.entries(r.nsPerOp)) {
      const ratio = r.ratios[name];
      const vs = ratio === undefined ? '' : `   happen is ${ratio.toFixed(2)}× ${name}`;
      console.log(`  ${name.padEnd(22)} ${ns.toFixed(0).padStart(7)} ns/op${vs}`);
    }
    if (r.target) {
      console.log(`  target: ≤ ${r.target.maxRatio}× ${r.target.baseline} — ${r.target.met ? 'met' : 'NOT met'}`);
    }
  }
}
