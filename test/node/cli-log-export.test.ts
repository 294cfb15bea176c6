/**
 * `happen log export`, in-process in a temporary project: the logs happen dev records (two nodes, one
 * event recorded by both), each filter, the merge order and dedupe, export → `happen replay` giving
 * the state replaying the original gives, the --json summary, bad arguments and a malformed line.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/main.ts';
import type { Io } from '../../src/cli/output.ts';
import type { HappenEvent } from '../../src/core/event.ts';
import { createIdGenerator } from '../../src/core/ids.ts';

let tmp: string;
let project: string;
const T0 = Date.parse('2025-01-31T12:00:00Z');
const ids = createIdGenerator();

/** An event made at `T0 + seconds`. */
function ev(seconds: number, type: string, payload: unknown, route: { sender?: string; target?: string; correlationId?: string } = {}): HappenEvent {
  const at = T0 + seconds * 1000;
  const id = ids(at);
  const sender = route.sender ?? 'ui';
  return {
    id,
    type,
    payload,
    context: { causal: { id, sender, correlationId: route.correlationId ?? id, path: [sender], timestamp: at }, ...(route.target ? { target: route.target } : {}) },
  };
}

// Made in time order, so their ids sort the same way.
const e1 = ev(1, 'tally.add', { n: 1 });
const e2 = ev(2, 'billing.charged', { amount: 10 }, { sender: 'orders', target: 'billing' });
const e3 = ev(3, 'order.created', { id: 'o1' }); // a broadcast both nodes handled
const e4 = ev(4, 'tally.add', { n: 3 }, { correlationId: 'flow-x' });
const e5 = ev(5, 'tally.add', { n: 4 }, { correlationId: 'flow-x' });
const e6 = ev(6, 'tally.add', { n: 5 }, { sender: 'billing', target: 'orders' });

const line = (sequence: number, event: HappenEvent) => JSON.stringify({ sequence, event });

const tallyModule = `export default function setup(happen) {
  const node = happen.createNode('tally', { state: { total: 0, seen: [] } });
  node.on('tally.add', (event) => {
    node.state.set((s) => ({ total: s.total + event.payload.n, seen: [...s.seen, event.payload.n] }));
  });
  return node;
}
`;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'happen-log-export-'));
  project = join(tmp, 'project');
  await mkdir(join(project, '.happen', 'log'), { recursive: true });
  await mkdir(join(project, 'src'), { recursive: true });
  await writeFile(join(project, 'happen.config.json'), '{}\n');
  await writeFile(join(project, 'tally.mjs'), tallyModule);
  // As happen dev records them: orders handled e1, e3, e4, e5; billing e2, e3, e6 (bare events, numbered by line).
  await writeFile(join(project, '.happen', 'log', 'orders.jsonl'), [line(1, e1), line(2, e3), line(3, e4), line(4, e5), ''].join('\n'));
  await writeFile(join(project, '.happen', 'log', 'billing.jsonl'), [e2, e3, e6].map((e) => JSON.stringify(e)).join('\n') + '\n');
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** An Io that collects what a command writes. */
function capture(cwd: string, options: { tty?: boolean } = {}) {
  const text = { stdout: '', stderr: '' };
  const io: Io = {
    cwd,
    env: {},
    stdout: { write: (chunk: string) => (text.stdout += chunk) },
    stderr: { write: (chunk: string) => (text.stderr += chunk), ...(options.tty ? { isTTY: true } : {}) },
    signal: new AbortController().signal,
  };
  return {
    io,
    get stdout() {
      return text.stdout;
    },
    get stderr() {
      return text.stderr;
    },
  };
}

/** Runs `happen log export ...args` in the project (or `cwd`); the exported events from stdout. */
async function exported(args: string[], cwd = project) {
  const run = capture(cwd);
  const code = await runCli(['log', 'export', ...args], run.io);
  expect(code, run.stderr).toBe(0);
  const lines = run.stdout.split('\n').filter((l) => l !== '');
  const entries = lines.map((l) => JSON.parse(l) as { sequence: number; event: HappenEvent });
  expect(entries.map((e) => e.sequence)).toEqual(entries.map((_, i) => i + 1)); // numbered afresh
  return { ids: entries.map((e) => e.event.id), events: entries.map((e) => e.event), stderr: run.stderr };
}

describe('[node] happen log export', () => {
  test('merges the recorded logs in event-id order, each event once, with progress on stderr', async () => {
    const all = await exported([]);
    expect(all.ids).toEqual([e1, e2, e3, e4, e5, e6].map((e) => e.id));
    expect(all.events[1]).toEqual(e2); // written as read
    const progress = all.stderr.split('\n');
    expect(progress[0]).toBe('reading 2 logs: 0/7');
    expect(progress.slice(-3)).toEqual(['read 7 lines from 2 logs', 'Exported 6 events from 2 logs to stdout (skipped 1 duplicate).', '']);

    // From a subdirectory: the project is found from happen.config.json.
    expect((await exported([], join(project, 'src'))).ids).toHaveLength(6);

    // Each log keeps its own order, even where it is not id order; the other logs interleave by id.
    await writeFile(join(tmp, 'unsorted.jsonl'), [e5, e1].map((e) => JSON.stringify(e)).join('\n'));
    await writeFile(join(tmp, 'other.jsonl'), [e2, e6].map((e) => JSON.stringify(e)).join('\n'));
    expect((await exported(['--log', join(tmp, 'unsorted.jsonl'), join(tmp, 'other.jsonl')])).ids).toEqual([e2, e5, e1, e6].map((e) => e.id));

    // On a terminal the progress is a bar.
    const tty = capture(project, { tty: true });
    expect(await runCli(['log', 'export', '--out', join(tmp, 'tty.jsonl')], tty.io)).toBe(0);
    expect(tty.stderr).toMatch(/^\r\x1b\[2Kreading 2 logs \[░+\] 0% 0\/7/);
    expect(tty.stderr).toMatch(/\r\x1b\[2Kread 7 lines from 2 logs\n$/);
    expect(tty.stdout).toBe('Exported 6 events from 2 logs to ../tty.jsonl (skipped 1 duplicate).\n');
  });

  test('each filter narrows the export', async () => {
    const idsOf = (...events: HappenEvent[]) => events.map((e) => e.id);
    expect((await exported(['--node', 'billing'])).ids).toEqual(idsOf(e2, e3, e6));
    expect((await exported(['--node', 'billing', '--node', 'orders'])).ids).toEqual(idsOf(e1, e2, e3, e4, e5, e6));
    expect((await exported(['--type', 'tally.*'])).ids).toEqual(idsOf(e1, e4, e5, e6));
    expect((await exported(['--type', '{order,billing}.**'])).ids).toEqual(idsOf(e2, e3));
    expect((await exported(['-c', 'flow-x'])).ids).toEqual(idsOf(e4, e5));
    // Sequences of each log: orders 2-3 is e3, e4; billing 2-3 is e3, e6.
    expect((await exported(['--from', '2', '--to', '3'])).ids).toEqual(idsOf(e3, e4, e6));
    expect((await exported(['--from', '4'])).ids).toEqual(idsOf(e5));
    expect((await exported(['--since', '2025-01-31T12:00:03Z', '--until', String(T0 + 5000)])).ids).toEqual(idsOf(e3, e4, e5));
    expect((await exported(['--until', '2025-01-31T12:00:01.500Z'])).ids).toEqual(idsOf(e1));
    const combined = await exported(['--node', 'orders', '--type', 'tally.add', '--since', String(T0 + 2000)]);
    expect(combined.ids).toEqual(idsOf(e4, e5));
    expect(combined.stderr).toContain('(skipped 2 filtered out)');
  });

  test('export → happen replay rebuilds the state replaying the original does', async () => {
    const replay = async (args: string[]) => {
      const run = capture(project);
      expect(await runCli(['replay', '--node', 'tally.mjs', '--json', ...args], run.io), run.stderr).toBe(0);
      return JSON.parse(run.stdout) as { state: unknown; events: number };
    };
    const original = await replay(['--log', '.happen/log/orders.jsonl']);
    expect(original.state).toEqual({ total: 8, seen: [1, 3, 4] });

    const run = capture(project);
    expect(await runCli(['log', 'export', '--node', 'orders', '--out', 'orders-export.jsonl'], run.io)).toBe(0);
    expect(await replay(['--log', 'orders-export.jsonl'])).toEqual({ ...original, log: join(project, 'orders-export.jsonl') });

    // A range exported replays like that range of the original.
    const range = capture(project);
    expect(await runCli(['log', 'export', '--node', 'orders', '--from', '2', '--to', '3', '--out', 'range.jsonl'], range.io)).toBe(0);
    expect((await replay(['--log', 'range.jsonl'])).state).toEqual((await replay(['--log', '.happen/log/orders.jsonl', '--from', '2', '--to', '3'])).state);

    // The merged export of both logs replays too: every tally.add once, in order.
    const merged = capture(project);
    expect(await runCli(['log', 'export', '--out', 'all.jsonl'], merged.io)).toBe(0);
    expect((await replay(['--log', 'all.jsonl'])).state).toEqual({ total: 13, seen: [1, 3, 4, 5] });
  });

  test('--json prints one summary document; the events go to --out', async () => {
    const run = capture(project);
    expect(await runCli(['log', 'export', '--json', '--out', join(tmp, 'summary.jsonl'), '--type', 'tally.*'], run.io)).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      exported: 4,
      skipped: 3,
      filtered: 3,
      duplicates: 0,
      malformed: [],
      files: [join(project, '.happen', 'log', 'billing.jsonl'), join(project, '.happen', 'log', 'orders.jsonl')],
      out: join(tmp, 'summary.jsonl'),
    });
    expect(run.stderr).toMatch(/^reading 2 logs: 0\/7\n(reading .*\n)*read 7 lines from 2 logs\n$/); // plain progress lines only
    const written = (await readFile(join(tmp, 'summary.jsonl'), 'utf8')).trimEnd().split('\n');
    expect(written.map((l) => JSON.parse(l).event.id)).toEqual([e1, e4, e5, e6].map((e) => e.id));
  });

  test('refuses bad arguments (exit 2, the argument named) and missing logs (exit 1)', async () => {
    const empty = join(tmp, 'empty');
    await mkdir(empty, { recursive: true });
    await writeFile(join(empty, 'happen.config.json'), '{}\n');
    const cases: Array<[string[], number, string, string?]> = [
      [['log'], 2, 'happen log: missing subcommand: happen log export [options] (see: happen log --help)'],
      [['log', 'import'], 2, 'happen log: unknown subcommand "import" (happen log has: export) (see: happen log --help)'],
      [['log', 'export', '--bogus'], 2, 'happen log: unknown option --bogus (see: happen log --help)'],
      [['log', 'export', '--from', '0'], 2, 'happen log: --from must be an integer between 1 and 9007199254740991 (got "0") (see: happen log --help)'],
      [['log', 'export', '--from', '5', '--to', '2'], 2, 'happen log: --from (5) must not be after --to (2) (see: happen log --help)'],
      [['log', 'export', '--since', 'yesterday'], 2, 'happen log: --since must be an ISO time (2025-01-31T12:00:00Z) or milliseconds since 1970 (got "yesterday") (see: happen log --help)'],
      [['log', 'export', '--since', '2000', '--until', '1000'], 2, 'happen log: --since (2000) must not be after --until (1000) (see: happen log --help)'],
      [['log', 'export', '--type', '{order'], 2, 'happen log: --type: Unbalanced braces in pattern "{order" (see: happen log --help)'],
      [['log', 'export', '--out'], 2, 'happen log: --out needs a value (see: happen log --help)'],
      [['log', 'export', '--node', 'nobody'], 1, 'happen log: no log of node "nobody" among the logs read (a node\'s log is <node>.jsonl; these are of: "billing", "orders")'],
      [['log', 'export', '--log', 'missing.jsonl'], 1, 'happen log: missing.jsonl cannot be read (does it exist?)'],
      [['log', 'export'], 1, 'happen log: no logs in .happen/log (happen dev records them there; name other files with --log)', empty],
    ];
    for (const [args, code, message, cwd] of cases) {
      const run = capture(cwd ?? project);
      expect([await runCli(args, run.io), run.stderr, run.stdout], args.join(' ')).toEqual([code, `${message}\n`, '']);
    }
    // With --json the error is one JSON line.
    const json = capture(project);
    expect(await runCli(['log', 'export', '--json', '--to', 'x'], json.io)).toBe(2);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'USAGE', message: '--to must be an integer between 1 and 9007199254740991 (got "x")' } });
    const noOut = capture(project);
    expect(await runCli(['log', 'export', '--json'], noOut.io)).toBe(2);
    expect(JSON.parse(noOut.stderr)).toMatchObject({ error: { code: 'USAGE', message: '--json prints the summary on stdout, so the events need --out <file>' } });
    // The command is listed and has help.
    const help = capture(project);
    expect(await runCli(['help'], help.io)).toBe(0);
    expect(help.stdout).toMatch(/\n {2}log +export recorded event logs/);
    const usage = capture(project);
    expect(await runCli(['log', 'export', '--help'], usage.io)).toBe(0);
    expect(usage.stdout).toMatch(/^Usage: happen log export /);
  });

  test('a malformed line fails the export with file:line before anything is written; --skip-bad skips it', async () => {
    const dir = join(tmp, 'bad');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'bad.jsonl'), `${line(1, e1)}\n{"sequence": 2, "ev\n${line(3, e4)}\n${line(2, e5)}\n${line(4, { ...e6, id: '' })}\n`);
    const failed = capture(dir);
    expect(await runCli(['log', 'export', '--log', 'bad.jsonl', '--out', 'out.jsonl'], failed.io)).toBe(1);
    expect(failed.stderr.split('\n').slice(-2)).toEqual(['happen log: bad.jsonl:2: not JSON (--skip-bad skips such lines)', '']);
    expect(existsSync(join(dir, 'out.jsonl'))).toBe(false);

    const skipped = capture(dir);
    expect(await runCli(['log', 'export', '--log', 'bad.jsonl', '--out', 'out.jsonl', '--skip-bad', '--json'], skipped.io)).toBe(0);
    const sequenceRule = "sequence must be an integer greater than the previous line's (3), got 2";
    expect(JSON.parse(skipped.stdout)).toMatchObject({
      exported: 2,
      skipped: 3,
      malformed: [
        { file: join(dir, 'bad.jsonl'), line: 2, message: 'not JSON' },
        { file: join(dir, 'bad.jsonl'), line: 4, message: sequenceRule },
        { file: join(dir, 'bad.jsonl'), line: 5, message: 'Malformed event: id is missing or malformed' },
      ],
    });
    expect(skipped.stderr).toContain(`happen log export: skipped bad.jsonl:2: not JSON\nhappen log export: skipped bad.jsonl:4: ${sequenceRule}\n`);
    const written = (await readFile(join(dir, 'out.jsonl'), 'utf8')).trimEnd().split('\n');
    expect(written.map((l) => JSON.parse(l).event.id)).toEqual([e1.id, e4.id]);
  });
});
