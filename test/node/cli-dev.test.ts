/**
 * The runtime commands in detail, in temporary directories: the process supervisor behind `happen
 * dev` (backoff, restart limit, stop), `happen dev` itself (node processes joined to its hub, crash
 * and change restarts, a module that fails, recording, shutdown), `tail` / `inspect` / `status`
 * against a real hub with real systems, and `replay` of a log file into a node module.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { serveHub, type HubServer, type NodeHubOptions } from '../../src/cli/hub-node.ts';
import { runDev } from '../../src/cli/commands/dev.ts';
import { LogRecorder, parseLog } from '../../src/cli/dev-log.ts';
import { superviseProcess, type ProcessStatus } from '../../src/cli/dev-supervisor.ts';
import { runCli } from '../../src/cli/main.ts';
import type { Io } from '../../src/cli/output.ts';
import { createHappen, type HappenEvent } from '../../src/index.ts';
import { mesh, type Mesh } from '../../src/mesh/index.ts';
import { observability } from '../../src/observe/observability.ts';
import { websocket } from '../../src/transports/websocket.ts';
import { freePort } from '../free-port.mjs';
import { alive, ROOT, start } from './cli-project.ts';

const SECRET = 'a-test-secret-of-32-characters!!';
let tmp: string;
const cleanup: Array<() => unknown> = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'happen-cli-dev-'));
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** An Io that collects what a command writes, with its own abort controller (Ctrl-C). */
function capture(cwd: string, env: Record<string, string> = {}) {
  const controller = new AbortController();
  const text = { stdout: '', stderr: '' };
  const io: Io = {
    cwd,
    env,
    stdout: { write: (chunk: string) => (text.stdout += chunk) },
    stderr: { write: (chunk: string) => (text.stderr += chunk) },
    signal: controller.signal,
  };
  return {
    io,
    stop: () => controller.abort(new Error('stopped by the test')),
    get stdout() {
      return text.stdout;
    },
    get stderr() {
      return text.stderr;
    },
    lines: () => text.stdout.split('\n').filter((l) => l !== ''),
  };
}

/** Resolves with `check`'s value once it stops throwing; rethrows its last failure after `timeout`. */
async function until<T>(check: () => T | Promise<T>, timeout = 10_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() - started > timeout) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}


async function hub(options: NodeHubOptions = {}): Promise<HubServer> {
  const server = await serveHub({ port: 0, sweepMs: 50, ...options });
  cleanup.push(() => server.close());
  return server;
}

/** A system joined to a hub's mesh over the WebSocket transport. */
async function system(url: string, id: string, options: { observed?: boolean; token?: string } = {}) {
  const link: Mesh = mesh({ transports: [websocket(url, { WebSocket, minReconnectDelay: 20, maxReconnectDelay: 100, ...(options.token ? { token: options.token } : {}) })] });
  const happen = createHappen({ id, extensions: [link], ...(options.observed ? { observability: observability() } : {}) });
  cleanup.push(() => link.close());
  await link.ready;
  return { happen, link };
}

describe('[node] the node-process supervisor', () => {
  test('a crashing process is restarted with a doubling backoff, then given up on; a change starts it afresh', async () => {
    const seen: ProcessStatus[] = [];
    const supervised = superviseProcess(
      { label: 'crasher', command: process.execPath, args: ['-e', 'process.exit(3)'], cwd: tmp, env: process.env },
      { minDelayMs: 20, maxDelayMs: 30, maxRestarts: 3, restartWindow: 10_000 },
      (s) => seen.push(s),
    );
    cleanup.push(() => supervised.stop());
    await until(() => expect(supervised.status().state).toBe('failed'));
    expect(seen.map((s) => s.state)).toEqual(['starting', 'restarting', 'starting', 'restarting', 'starting', 'restarting', 'starting', 'failed']);
    expect(seen.filter((s) => s.state === 'restarting').map((s) => s.delayMs)).toEqual([20, 30, 30]); // doubling, capped
    expect(supervised.status()).toMatchObject({ state: 'failed', exitCode: 3, restarts: 3 });
    await supervised.restart();
    expect(seen.at(-1)).toMatchObject({ state: 'starting', reason: 'change' });
    await until(() => expect(seen.at(-1)!.state).toBe('restarting')); // a fresh count: it is retried again
  });

  test('crashes outside the window do not add up; a running process reports its nodes; stop ends it', async () => {
    let clock = 0;
    const seen: ProcessStatus[] = [];
    const file = join(tmp, 'flaky.mjs');
    // Ready, then crash on its first two runs (counted in a file), then stay up.
    await writeFile(
      file,
      `import { readFileSync, writeFileSync } from 'node:fs';
const runs = Number(readFileSync(${JSON.stringify(join(tmp, 'runs'))}, 'utf8')) + 1;
writeFileSync(${JSON.stringify(join(tmp, 'runs'))}, String(runs));
process.send({ type: 'ready', system: 's', nodes: ['n' + runs] });
if (runs < 3) setTimeout(() => process.exit(1), 10); else setInterval(() => {}, 1000);
process.on('message', (m) => m.type === 'stop' && process.exit(0));`,
    );
    await writeFile(join(tmp, 'runs'), '0');
    const supervised = superviseProcess(
      { label: 'flaky', command: process.execPath, args: [file], cwd: tmp, env: process.env },
      { minDelayMs: 10, maxRestarts: 1, restartWindow: 1_000, now: () => (clock += 5_000) }, // each crash far from the last
      (s) => seen.push(s),
    );
    cleanup.push(() => supervised.stop());
    await until(() => expect(supervised.status()).toMatchObject({ state: 'running', nodes: ['n3'] }));
    expect(seen.filter((s) => s.state === 'restarting').map((s) => s.delayMs)).toEqual([10, 10]); // never past the first step
    const { pid } = supervised.status();
    expect(alive(pid!)).toBe(true);
    await supervised.stop();
    expect(supervised.status().state).toBe('stopped');
    expect(alive(pid!)).toBe(false);
  });

  test('a process that ignores stop is killed after stopTimeoutMs', async () => {
    const supervised = superviseProcess(
      { label: 'stubborn', command: process.execPath, args: ['-e', "process.on('SIGTERM', () => {}); process.send({ type: 'ready', system: 's', nodes: [] }); setInterval(() => {}, 1000)"], cwd: tmp, env: process.env },
      { stopTimeoutMs: 200 },
      () => {},
    );
    await until(() => expect(supervised.status().state).toBe('running'));
    const { pid } = supervised.status();
    const started = Date.now();
    await supervised.stop();
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(alive(pid!)).toBe(false);
  });
});

/** A project whose node modules need no package: setup gets `happen` as its argument. */
async function devProject(name: string, nodes: Record<string, string>): Promise<string> {
  const dir = join(tmp, name);
  await mkdir(join(dir, 'src', 'nodes'), { recursive: true });
  await writeFile(join(dir, 'happen.config.json'), JSON.stringify({ mesh: name, nodes: ['src/nodes/*.ts'] }));
  for (const [file, source] of Object.entries(nodes)) await writeFile(join(dir, 'src', 'nodes', file), source);
  return dir;
}

const echoNode = (greeting: string) => `import type { Happen } from ${JSON.stringify(join(import.meta.dirname, '../../src/index.ts'))};
export default function setup(happen: Happen) {
  const node = happen.createNode('echo', { state: { said: 0 } });
  node.on('echo.say', (event) => {
    node.state.set((s: { said: number }) => ({ said: s.said + 1 }));
    return ${JSON.stringify(greeting)} + ' ' + event.payload.text;
  });
  node.on('echo.crash', () => void setTimeout(() => process.exit(7), 5));
  console.log('echo is up');
  return node;
}
`;

describe('[node] happen dev', () => {
  test('runs each module in a process on its hub; restarts a crash and a changed file; gives up on a broken module; records; stops', async () => {
    const dir = await devProject('devmesh', {
      'echo.ts': echoNode('hello'),
      'broken.ts': `export default function setup() { throw new Error('no database here'); }\n`,
    });
    await mkdir(join(dir, '.happen', 'log'), { recursive: true });
    await writeFile(join(dir, '.happen', 'log', 'old.jsonl'), '');
    const run = capture(dir);
    const done = runDev(run.io, true, { port: 0, supervise: { minDelayMs: 20, maxRestarts: 2 } });
    cleanup.push(async () => {
      run.stop();
      await done;
    });
    const json = () => run.lines().map((l) => JSON.parse(l) as Record<string, any>);
    const ready = await until(() => json().find((l) => l.event === 'ready') ?? Promise.reject(new Error(`not ready:\n${run.stdout}\n${run.stderr}`)));
    expect(ready.nodes).toEqual(['echo']);
    const hubLine = json()[0]!;
    expect(hubLine).toMatchObject({ event: 'hub', mesh: 'devmesh', files: ['src/nodes/broken.ts', 'src/nodes/echo.ts'], logDir: join(dir, '.happen', 'log') });
    // The broken module: two restarts, then left stopped, saying why.
    expect(json().filter((l) => l.file === 'src/nodes/broken.ts').map((l) => l.state)).toEqual(['starting', 'restarting', 'starting', 'restarting', 'starting', 'failed']);
    expect(json().find((l) => l.state === 'failed')).toMatchObject({ exitCode: 1, error: 'no database here', restarts: 2 });
    expect(run.stderr).toContain('[broken] Error: no database here');
    expect(run.stderr).toContain('[echo] echo is up'); // with --json a process's stdout goes to stderr
    expect(existsSync(join(dir, '.happen', 'log.previous', 'old.jsonl'))).toBe(true);

    const { happen, link } = await system(`${hubLine.url}/mesh/devmesh`, 'client');
    const ui = happen.createNode('ui');
    await link.waitForNode('echo');
    const say = ui.send('echo', { type: 'echo.say', payload: { text: 'Ada' } });
    expect(await say.return({ timeout: 5_000 })).toBe('hello Ada');
    // dev's hub taps its mesh from the start: a flow nobody watched can be inspected afterwards.
    const inspected = capture(dir);
    expect(await runCli(['inspect', '--hub', hubLine.url, '--correlation', say.event.context.causal.correlationId, '--json'], inspected.io)).toBe(0);
    expect(JSON.parse(inspected.stdout).steps.map((s: any) => [s.event.type, s.from, s.to])).toEqual([
      ['echo.say', 'ui', 'echo'],
      ['happen.reply', 'echo', 'ui'],
    ]);

    // A crash inside the module's process: restarted after the backoff.
    const first = json().find((l) => l.file === 'src/nodes/echo.ts' && l.state === 'running')!;
    ui.send('echo', { type: 'echo.crash', payload: {} });
    await until(() => expect(json().find((l) => l.file === 'src/nodes/echo.ts' && l.state === 'restarting')).toMatchObject({ exitCode: 7, delayMs: 20, restarts: 1 }));
    const second = await until(() => json().find((l) => l.file === 'src/nodes/echo.ts' && l.state === 'running' && l.pid !== first.pid) ?? Promise.reject(new Error('not restarted')));
    expect(second).toMatchObject({ reason: 'crash', nodes: ['echo'] });

    // A changed file: restarted at once, running the new code.
    await writeFile(join(dir, 'src', 'nodes', 'echo.ts'), echoNode('bonjour'));
    await until(() => expect(json().some((l) => l.event === 'change' && l.file === 'src/nodes/echo.ts')).toBe(true));
    const third = await until(() => json().find((l) => l.state === 'running' && l.reason === 'change') ?? Promise.reject(new Error('not restarted')));
    expect(alive(second.pid)).toBe(false);
    await until(async () => expect(await ui.send('echo', { type: 'echo.say', payload: { text: 'Grace' } }).return({ timeout: 500 })).toBe('bonjour Grace'));

    // What echo handled across its three processes, numbered on.
    const log = parseLog(await readFile(join(dir, '.happen', 'log', 'echo.jsonl'), 'utf8'), 'echo.jsonl');
    expect(log.map((e) => e.sequence)).toEqual(log.map((_, i) => i + 1));
    expect(log.map((e) => e.event.type).filter((t) => t !== 'echo.say')).toEqual(['echo.crash']);
    expect(log.at(-1)!.event.payload).toEqual({ text: 'Grace' });

    await link.close();
    run.stop();
    expect(await done).toBe(0);
    expect(json().at(-1)).toEqual({ event: 'stopped' });
    expect(json().filter((l) => l.state === 'stopped').map((l) => l.file).sort()).toEqual(['src/nodes/broken.ts', 'src/nodes/echo.ts']);
    expect(alive(third.pid)).toBe(false);
    await expect(fetch(`${hubLine.url}/health`)).rejects.toThrow();
  }, 30_000);

  test('prints the hub, the dashboard and each node for people; --no-record writes no log', async () => {
    const dir = await devProject('human', { 'echo.ts': echoNode('hi') });
    const run = capture(dir);
    const done = runDev(run.io, false, { port: 0, record: false, watch: false });
    cleanup.push(async () => {
      run.stop();
      await done;
    });
    await until(() => expect(run.stdout).toContain('Ready: echo on http://127.0.0.1:'));
    expect(run.stdout).toMatch(/^happen dev: mesh human, 1 node module\n {2}hub {8}http:\/\/127\.0\.0\.1:\d+ {2}\(nodes join http:\/\/127\.0\.0\.1:\d+\/mesh\/human\)\n {2}dashboard {2}http:\/\/127\.0\.0\.1:\d+\/dashboard\/mesh\/human\nPress Ctrl-C to stop\.\n/);
    expect(run.stdout).toMatch(/src\/nodes\/echo\.ts: running \(pid \d+\): echo\n/);
    expect(run.stdout).toContain('[echo] echo is up\n');
    run.stop();
    expect(await done).toBe(0);
    expect(run.stdout).toMatch(/src\/nodes\/echo\.ts: stopped\nhappen dev: stopped\n$/);
    expect(existsSync(join(dir, '.happen'))).toBe(false);
  });

  test('node processes do not outlive a dev that is killed outright', async () => {
    const dir = await devProject('orphans', { 'echo.ts': echoNode('hi') });
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href; // from the repo: the project has none
    const dev = start(process.execPath, ['--import', tsx, join(ROOT, 'src/cli/main.ts'), 'dev', '--port', '0', '--json'], { cwd: dir });
    cleanup.push(() => void dev.child.kill('SIGKILL'));
    const running = JSON.parse(await dev.line('stdout', (l) => l.includes('"state":"running"'))) as { pid: number };
    expect(alive(running.pid)).toBe(true);
    dev.child.kill('SIGKILL');
    await dev.exited;
    await until(() => expect(alive(running.pid)).toBe(false), 5_000); // its IPC channel closed: it left on its own
  });

  test('usage and setup errors: no config, a bad port, a port in use, a node file that is missing', async () => {
    const empty = join(tmp, 'no-project');
    await mkdir(empty, { recursive: true });
    const none = capture(empty);
    expect(await runCli(['dev'], none.io)).toBe(1);
    expect(none.stderr).toMatch(/^happen dev: no happen\.config\.json in .* \(create a project with: happen init\)\n$/);

    const dir = await devProject('errors', { 'echo.ts': echoNode('hi') });
    const bad = capture(dir);
    expect(await runCli(['dev', '--port', 'abc'], bad.io)).toBe(2);
    expect(bad.stderr).toBe('happen dev: --port must be an integer between 0 and 65535 (got "abc") (see: happen dev --help)\n');

    const taken = await hub();
    const busy = capture(dir);
    expect(await runCli(['dev', '--port', String(taken.port), '--json'], busy.io)).toBe(1);
    expect(JSON.parse(busy.stderr)).toMatchObject({ error: { code: 'PORT_IN_USE', message: `port ${taken.port} on 127.0.0.1 is in use: stop what holds it, or pick another with --port (0 picks a free one)` } });

    await writeFile(join(dir, 'happen.config.json'), JSON.stringify({ mesh: 'errors', nodes: ['src/nodes/gone.ts'] }));
    const missing = capture(dir);
    expect(await runCli(['dev'], missing.io)).toBe(1);
    expect(missing.stderr).toBe('happen dev: happen.config.json: nodes lists src/nodes/gone.ts, which does not exist\n');
  });
});

/** A hub with three systems: a shop whose orders node asks billing (observed), and a client. */
async function meshOfThree(options: NodeHubOptions = {}, token?: (system: string) => Promise<string>) {
  const server = await hub(options);
  const url = `${server.url}/mesh/shop`;
  const shop = await system(url, 'shop-sys', { ...(token ? { token: await token('shop-sys') } : {}) });
  const billing = await system(url, 'billing-sys', { observed: true, ...(token ? { token: await token('billing-sys') } : {}) });
  const client = await system(url, 'client-sys', { ...(token ? { token: await token('client-sys') } : {}) });
  const orders = shop.happen.createNode('orders');
  orders.on('order.place', (event, ctx) => ctx.send('billing', { type: 'billing.charge', payload: { amount: event.payload.amount } }));
  const bill = billing.happen.createNode('billing');
  bill.on('billing.charge', (event) => ({ charged: event.payload.amount }));
  const ui = client.happen.createNode('ui');
  await client.link.waitForNode('orders');
  await shop.link.waitForNode('billing');
  const place = async (amount: number, correlationId?: string) => {
    const handle = ui.send('orders', { type: 'order.place', payload: { amount }, ...(correlationId ? { correlationId } : {}) });
    expect(await handle.return({ timeout: 5_000 })).toEqual({ charged: amount });
    return handle.event.context.causal.correlationId;
  };
  return { server, place };
}

describe('[node] happen tail, inspect and status', () => {
  test('tail prints matching events as they pass the hub, one JSON object per line, until --count', async () => {
    const { server, place } = await meshOfThree();
    const tail = capture(tmp);
    const done = runCli(['tail', '--hub', server.url, '--mesh', 'shop', '--type', '{order,billing}.*', '--count', '4', '--json'], tail.io);
    await until(() => expect(tail.stderr).toBe(`happen tail: following mesh shop on ${server.url}\n`));
    await place(5);
    await place(7);
    expect(await done).toBe(0);
    const events = tail.lines().map((l) => JSON.parse(l));
    expect(events.map((e) => [e.type, e.sender, e.target, e.payload])).toEqual([
      ['order.place', 'ui', 'orders', '{"amount":5}'],
      ['billing.charge', 'orders', 'billing', '{"amount":5}'],
      ['order.place', 'ui', 'orders', '{"amount":7}'],
      ['billing.charge', 'orders', 'billing', '{"amount":7}'],
    ]);
    expect(events[1]).toMatchObject({ system: 'shop-sys', targetSystem: 'billing-sys', causationId: events[0].id, correlationId: events[0].correlationId });
  });

  test('tail --last replays what the hub kept; --correlation and --node narrow it; the human line', async () => {
    const { server, place } = await meshOfThree();
    const first = capture(tmp);
    const following = runCli(['tail', '--hub', `${server.url}/mesh/shop`, '--count', '1'], first.io); // the mesh from the URL
    await until(() => expect(first.stderr).toContain('following mesh shop'));
    const correlation = await place(1);
    await place(2);
    await following;
    expect(first.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} {2}order\.place {2}ui → orders {2}\{"amount":1\} {2}\(correlation \S+\)\n$/);

    const one = capture(tmp);
    expect(await runCli(['tail', '--hub', server.url, '--mesh', 'shop', '--correlation', correlation, '--last', '100', '--count', '4', '--json'], one.io)).toBe(0);
    const flow = one.lines().map((l) => JSON.parse(l));
    expect(flow.map((e) => e.type)).toEqual(['order.place', 'billing.charge', 'happen.reply', 'happen.reply']);
    expect(new Set(flow.map((e) => e.correlationId))).toEqual(new Set([correlation]));

    const billing = capture(tmp);
    expect(await runCli(['tail', '--hub', server.url, '--mesh', 'shop', '--node', 'billing', '--last', '2', '--count', '2', '--json'], billing.io)).toBe(0);
    expect(billing.lines().map((l) => JSON.parse(l)).map((e) => [e.type, e.sender, e.target])).toEqual([
      ['billing.charge', 'orders', 'billing'],
      ['happen.reply', 'billing', 'orders'],
    ]);
  });

  test('tail follows the hub through a restart, and Ctrl-C ends it at once', async () => {
    const port = await freePort();
    const first = await serveHub({ port, sweepMs: 50 });
    const tail = capture(tmp);
    const done = runCli(['tail', '--hub', `http://127.0.0.1:${port}`, '--mesh', 'shop', '--json'], tail.io);
    await until(() => expect(tail.stderr).toContain('following mesh shop'));
    await first.close();
    await until(() => expect(tail.stderr).toContain('happen tail: lost the hub'));
    const second = await serveHub({ port, sweepMs: 50 });
    cleanup.push(() => second.close());
    await until(() => expect(tail.stderr).toContain('reconnected, following mesh shop'), 15_000);
    const a = await system(`${second.url}/mesh/shop`, 'a-sys');
    const b = await system(`${second.url}/mesh/shop`, 'b-sys');
    b.happen.createNode('b').on('ping', () => 'pong');
    await a.link.waitForNode('b');
    expect(await a.happen.createNode('a').send('b', { type: 'ping', payload: {} }).return({ timeout: 5_000 })).toBe('pong');
    await until(() => expect(tail.lines().map((l) => JSON.parse(l).type)).toContain('ping'));
    expect(tail.stderr.match(/lost the hub/g)).toHaveLength(1); // once per outage, not per attempt
    const stopping = Date.now();
    tail.stop();
    expect(await done).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(500);
  }, 30_000);

  test('inspect shows each event with its causal context, and a correlation id as a causal tree', async () => {
    const { server, place } = await meshOfThree();
    const live = capture(tmp);
    const following = runCli(['inspect', '--hub', server.url, '--mesh', 'shop', '--type', 'billing.*', '--count', '1'], live.io);
    await until(() => expect(live.stderr).toContain('happen inspect: following mesh shop'));
    const correlation = await place(3);
    expect(await following).toBe(0);
    expect(live.stdout).toMatch(
      new RegExp(
        [
          String.raw`^billing\.charge  at \d\d:\d\d:\d\d\.\d{3}`,
          String.raw`  id           \S+`,
          String.raw`  route        orders \(shop-sys\) → billing \(billing-sys\)`,
          String.raw`  caused by    \S+`, // its cause (order.place) was filtered out, so it is not named
          `  correlation  ${correlation}`,
          String.raw`  payload      \{`,
          String.raw`                 "amount": 3`,
          String.raw`               \}`,
        ].join('\n'),
      ),
    );

    const tree = capture(tmp);
    expect(await runCli(['inspect', '--hub', server.url, '--mesh', 'shop', '--correlation', correlation, '--json'], tree.io)).toBe(0);
    const graph = JSON.parse(tree.stdout);
    expect(graph.correlationId).toBe(correlation);
    expect(graph.steps.map((s: any) => [s.event.type, s.from, s.to, s.depth])).toEqual([
      ['order.place', 'ui', 'orders', 0],
      ['billing.charge', 'orders', 'billing', 1],
      ['happen.reply', 'billing', 'orders', 2],
      ['happen.reply', 'orders', 'ui', 1],
    ]);
    expect(graph.nodes).toEqual([
      { id: 'ui', system: 'client-sys' },
      { id: 'orders', system: 'shop-sys' },
      { id: 'billing', system: 'billing-sys' },
    ]);

    const human = capture(tmp);
    expect(await runCli(['inspect', '--hub', server.url, '--mesh', 'shop', '--correlation', correlation], human.io)).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`Flow ${correlation}: 4 events across ui (client-sys), orders (shop-sys), billing (billing-sys)`);
    expect(lines.slice(1).map((l) => l.replace(/\s+\+\d+ ms.*$/, ''))).toEqual(['  order.place  ui → orders', '  └ billing.charge  orders → billing', '    └ happen.reply  billing → orders', '  └ happen.reply  orders → ui']);

    // --follow: a flow that has not happened yet grows as a tree while it runs.
    const follow = capture(tmp);
    const growing = runCli(['inspect', '--hub', server.url, '--mesh', 'shop', '--correlation', 'flow-7', '--follow', '--count', '4'], follow.io);
    await until(() => expect(follow.stderr).toContain('following'));
    await place(7, 'flow-7');
    expect(await growing).toBe(0);
    expect(follow.stdout.trimEnd().split('\n').map((l) => l.replace(/\s+\+\d+ ms.*$/, ''))).toEqual(lines.slice(1).map((l) => l.replace(/\s+\+\d+ ms.*$/, '')));

    const unknown = capture(tmp);
    expect(await runCli(['inspect', '--hub', server.url, '--mesh', 'shop', '--correlation', 'nope'], unknown.io)).toBe(1);
    expect(unknown.stderr).toMatch(/^happen inspect: the hub holds no events of correlation nope in mesh shop \(it records only while/);
    const misuse = capture(tmp);
    expect(await runCli(['inspect', '--follow'], misuse.io)).toBe(2);
  });

  test('status lists the meshes, systems, nodes and the health ops nodes report', async () => {
    const { server, place } = await meshOfThree();
    await place(4);
    const json = capture(tmp);
    expect(await runCli(['status', '--hub', server.url, '--json'], json.io)).toBe(0);
    const status = JSON.parse(json.stdout);
    expect(status).toMatchObject({ url: server.url, ok: true, meshes: 1, dashboard: true });
    const [shop] = status.mesh;
    expect(shop.mesh).toBe('shop');
    expect(shop.systems.map((s: any) => [s.system, s.nodes.map((n: any) => n.id), s.ops])).toEqual([
      ['billing-sys', ['billing'], true],
      ['client-sys', ['ui'], false],
      ['shop-sys', ['orders'], false],
    ]);
    expect(shop.systems[0]).toMatchObject({ queue: { depth: 0 }, deadLetters: 0, nodes: [{ id: 'billing', health: { status: 'ok', eventsIn: 1, failures: 0 } }] });
    expect(shop.systems[1].healthError).toMatchObject({ code: 'NO_OPS_NODE' });

    const human = capture(tmp);
    expect(await runCli(['status', '--hub', server.url, '--mesh', 'shop'], human.io)).toBe(0);
    expect(human.stdout).toMatch(/^Hub http:\/\/127\.0\.0\.1:\d+: up \(1 mesh, \d+ peers, \d+ nodes\)\n\nMesh shop: 3 systems\n {2}billing-sys \(queue 0, dead letters 0\)\n {4}billing +ok +1 in, 1 out, 0 failed, [\d.]+ ms avg\n {2}client-sys \(no ops node: turn observability on for health\)\n {4}ui\n/);
  });

  test('a hub with a secret: status and tail need HAPPEN_SECRET; a hub without the dashboard; a hub that is not there', async () => {
    const { createAdmissionToken } = await import('../../src/security/tokens.ts');
    const { server } = await meshOfThree({ secret: SECRET }, (sub) => createAdmissionToken(SECRET, { sub, mesh: 'shop' }));
    const refused = capture(tmp);
    expect(await runCli(['status', '--hub', server.url], refused.io)).toBe(1);
    expect(refused.stderr).toBe("happen status: the hub refused /dashboard/api/meshes: This hub opens its dashboard with a dashboard token only (?token=) (set HAPPEN_SECRET to the hub's secret)\n");
    const admitted = capture(tmp, { HAPPEN_SECRET: SECRET });
    expect(await runCli(['status', '--hub', server.url, '--json'], admitted.io)).toBe(0);
    expect(JSON.parse(admitted.stdout).mesh[0].systems).toHaveLength(3);

    const bare = await hub({ dashboard: false });
    const plain = capture(tmp);
    expect(await runCli(['status', '--hub', bare.url, '--json'], plain.io)).toBe(0);
    expect(JSON.parse(plain.stdout)).toEqual({ url: bare.url, ok: true, meshes: 0, peers: 0, nodes: 0, dashboard: false, mesh: [] });
    const noTail = capture(tmp);
    expect(await runCli(['tail', '--hub', bare.url], noTail.io)).toBe(1);
    expect(noTail.stderr).toBe(`happen tail: the hub at ${bare.url} serves no dashboard API (is observability.dashboard off?)\n`);

    const port = await freePort();
    const gone = capture(tmp);
    expect(await runCli(['status', '--hub', `ws://127.0.0.1:${port}`, '--json'], gone.io)).toBe(1);
    expect(JSON.parse(gone.stderr)).toMatchObject({ error: { code: 'HUB_UNREACHABLE', category: 'network', message: `cannot reach the hub at http://127.0.0.1:${port} (ECONNREFUSED); start one with happen dev, or name it with --hub` } });

    const pattern = capture(tmp);
    expect(await runCli(['tail', '--type', '{order,billing.*'], pattern.io)).toBe(2);
    expect(pattern.stderr).toBe('happen tail: --type: Unbalanced braces in pattern "{order,billing.*" (see: happen tail --help)\n');
    const hubArg = capture(tmp);
    expect(await runCli(['status', '--hub', 'ftp://x'], hubArg.io)).toBe(2);
    expect(hubArg.stderr).toBe('happen status: --hub must be an http://, https://, ws:// or wss:// URL (got "ftp://x") (see: happen status --help)\n');
  });
});

/** Real events, as a node emits them: `tally.add` with the amounts, in order. */
function tallyEvents(amounts: number[]): HappenEvent[] {
  const source = createHappen({ id: 'source' }).createNode('ui');
  return amounts.map((n) => source.broadcast({ type: 'tally.add', payload: { n } }));
}

const tallyModule = `export default function setup(happen) {
  const node = happen.createNode('tally', { state: { total: 0, seen: [] } });
  node.on('tally.add', (event, ctx) => {
    node.state.set((s) => ({ total: s.total + event.payload.n, seen: [...s.seen, event.payload.n] }));
    ctx.send('audit', { type: 'audit.note', payload: {} }); // an effect: suppressed in a replay
  });
  return node;
}
`;

describe('[node] happen replay', () => {
  test('replays a range of a log into a node module and prints the state, with progress on stderr', async () => {
    const dir = join(tmp, 'replay');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'tally.mjs'), tallyModule);
    const events = tallyEvents([1, 2, 3, 4, 5]);
    const other = createHappen({ id: 'x' }).createNode('x').broadcast({ type: 'other.thing', payload: {} });
    await writeFile(join(dir, 'log.jsonl'), [...events.map((event, i) => JSON.stringify({ sequence: i + 1, event })), JSON.stringify({ sequence: 9, event: other }), ''].join('\n'));

    const all = capture(dir);
    expect(await runCli(['replay', '--log', 'log.jsonl', '--node', 'tally.mjs', '--json'], all.io)).toBe(0);
    expect(JSON.parse(all.stdout)).toEqual({ log: join(dir, 'log.jsonl'), module: join(dir, 'tally.mjs'), node: 'tally', from: 1, to: 9, events: 6, handled: 5, state: { total: 15, seen: [1, 2, 3, 4, 5] } });
    expect(all.stderr.split('\n')[0]).toBe('replaying into tally: 0/6');
    expect(all.stderr).toMatch(/replayed 6 events into tally\n$/);

    const part = capture(dir);
    expect(await runCli(['replay', '--log', 'log.jsonl', '--node', 'tally.mjs', '--from', '2', '--to', '4'], part.io)).toBe(0);
    expect(part.stdout).toBe(`Replayed events 2-4 of log.jsonl into tally: 3 events, 3 handled.\nState:\n${JSON.stringify({ total: 9, seen: [2, 3, 4] }, null, 2)}\n`);

    const none = capture(dir);
    expect(await runCli(['replay', '--log', 'log.jsonl', '--node', 'tally.mjs', '--from', '20'], none.io)).toBe(0);
    expect(none.stdout).toContain('log.jsonl holds no events in that range: tally keeps its initial state.');

    // Bare events (one per line, numbered by line) work too, as does a TypeScript module.
    await writeFile(join(dir, 'bare.jsonl'), events.map((e) => JSON.stringify(e)).join('\n'));
    await writeFile(join(dir, 'tally.ts'), tallyModule.replace('setup(happen)', 'setup(happen: any)').replace(/\(s\)/, '(s: any)'));
    const bare = capture(dir);
    expect(await runCli(['replay', '--log', 'bare.jsonl', '--node', 'tally.ts', '--to', '2', '--json'], bare.io)).toBe(0);
    expect(JSON.parse(bare.stdout)).toMatchObject({ from: 1, to: 2, handled: 2, state: { total: 3 } });
  });

  test('refuses bad arguments, unreadable logs, malformed lines and modules that are not nodes', async () => {
    const dir = join(tmp, 'replay-errors');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'tally.mjs'), tallyModule);
    await writeFile(join(dir, 'nodefault.mjs'), 'export const x = 1;\n');
    const [a, b] = tallyEvents([1, 2]);
    const cases: Array<[string[], number, string]> = [
      [['replay', '--node', 'tally.mjs'], 2, 'happen replay: --log is required: the event log to replay (happen dev writes .happen/log/<node>.jsonl) (see: happen replay --help)'],
      [['replay', '--log', 'x.jsonl'], 2, 'happen replay: --node is required: the node module to replay into, e.g. src/nodes/orders.ts (see: happen replay --help)'],
      [['replay', '--log', 'x', '--node', 'y', '--from', '5', '--to', '2'], 2, 'happen replay: --from (5) must not be after --to (2) (see: happen replay --help)'],
      [['replay', '--log', 'missing.jsonl', '--node', 'tally.mjs'], 1, 'happen replay: missing.jsonl cannot be read (does it exist?)'],
      [['replay', '--log', 'garbled.jsonl', '--node', 'tally.mjs'], 1, 'happen replay: garbled.jsonl line 2 is not JSON'],
      [['replay', '--log', 'shape.jsonl', '--node', 'tally.mjs'], 1, 'happen replay: shape.jsonl line 1: Malformed event: id is missing or malformed'],
      [['replay', '--log', 'order.jsonl', '--node', 'tally.mjs'], 1, "happen replay: order.jsonl line 2: sequence must be an integer greater than the previous line's (3), got 2"],
      [['replay', '--log', 'good.jsonl', '--node', 'nodefault.mjs'], 1, `happen replay: ${join(dir, 'nodefault.mjs')} must export a default function (happen) => node; it exports no default`],
    ];
    await writeFile(join(dir, 'garbled.jsonl'), `${JSON.stringify(a)}\n{"sequence": 2, "event": \n`);
    await writeFile(join(dir, 'shape.jsonl'), `${JSON.stringify({ sequence: 1, event: { ...a, id: '' } })}\n`);
    await writeFile(join(dir, 'order.jsonl'), `${JSON.stringify({ sequence: 3, event: a })}\n${JSON.stringify({ sequence: 2, event: b })}\n`);
    await writeFile(join(dir, 'good.jsonl'), `${JSON.stringify(a)}\n`);
    for (const [args, code, message] of cases) {
      const run = capture(dir);
      expect([await runCli(args, run.io), run.stderr], args.join(' ')).toEqual([code, `${message}\n`]);
    }
  });

  test('the recorder numbers on from the file it finds, a line cut short by a crash included', async () => {
    const file = join(tmp, 'recorded.jsonl');
    const [a, b, c] = tallyEvents([1, 2, 3]);
    const first = new LogRecorder(file);
    expect([first.append(a!), first.append(b!)]).toEqual([1, 2]);
    expect(new LogRecorder(file).append(c!)).toBe(3);
    expect(parseLog(await readFile(file, 'utf8'), 'recorded.jsonl').map((e) => [e.sequence, e.event.payload.n])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    await writeFile(file, `${await readFile(file, 'utf8')}{"sequence":4,"ev`);
    expect(new LogRecorder(file).append(a!)).toBe(5);
  });
});
