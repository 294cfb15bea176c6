/**
 * The CLI end to end, as a user runs it, in a temporary directory with the built bin:
 * `happen init` → `happen create-node counter --template api` → `happen dev` in the background (the
 * hub answers /health, the node process joins) → a client sends an event and `happen tail --json`
 * prints it → the node process is killed and dev restarts it → `happen status` sees it →
 * `happen replay` of the log dev recorded rebuilds the node's state → Ctrl-C stops everything.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createHappen } from '../../src/index.ts';
import { mesh, type Mesh } from '../../src/mesh/index.ts';
import { websocket } from '../../src/transports/websocket.ts';
import { alive, buildPackage, linkProject, run, start, type Started } from './cli-project.ts';

let tmp: string;
let bin: string;
const running: Started[] = [];
const links: Mesh[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'happen-e2e-'));
  const pkg = await buildPackage(tmp);
  bin = join(pkg, 'dist', 'cli', 'main.js');
}, 60_000);

afterAll(async () => {
  for (const link of links) await link.close();
  for (const program of running) if (program.child.exitCode === null) program.child.kill('SIGKILL');
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const happen = (args: string[], cwd: string) => run(process.execPath, [bin, ...args], { cwd });
const background = (args: string[], cwd: string) => {
  const program = start(process.execPath, [bin, ...args], { cwd });
  running.push(program);
  return program;
};
const json = (line: string) => JSON.parse(line) as Record<string, any>;

test('init → create-node → dev → tail sees an event → a killed node restarts → status → replay rebuilds its state', async () => {
  const started = Date.now();
  expect(await happen(['init', 'shop', '--json'], tmp)).toMatchObject({ code: 0, stderr: '' });
  const project = join(tmp, 'shop');
  const added = await happen(['create-node', 'counter', '--template', 'api', '--json'], project);
  expect(added.code).toBe(0);
  expect(json(added.stdout)).toMatchObject({ file: 'src/nodes/counter.ts', events: ['counter.create', 'counter.get', 'counter.update', 'counter.list'] });
  await linkProject(project, join(tmp, 'happen'));

  // dev: the hub and one process per node module (hello from init, counter from create-node).
  const dev = background(['dev', '--port', '0', '--json'], project);
  const hubLine = json(await dev.line('stdout', (l) => l.includes('"event":"hub"')));
  expect(hubLine).toMatchObject({ mesh: 'shop', files: ['src/nodes/counter.ts', 'src/nodes/hello.ts'], dashboard: expect.stringMatching(/\/dashboard\/mesh\/shop$/) });
  const hub = hubLine.url as string;
  const ready = json(await dev.line('stdout', (l) => l.includes('"event":"ready"')));
  expect(ready.nodes.sort()).toEqual(['counter', 'hello']);
  const running1 = json(dev.stdout.find((l) => l.includes('"state":"running"') && l.includes('counter.ts'))!);
  expect(running1).toMatchObject({ event: 'node', file: 'src/nodes/counter.ts', nodes: ['counter'], restarts: 0 });
  const health = (await (await fetch(`${hub}/health`)).json()) as { ok: boolean; peers: number };
  expect(health).toMatchObject({ ok: true, peers: 2 });
  expect(await (await fetch(hubLine.dashboard)).text()).toContain('<html');

  // tail, following counter.* events from the hub's dashboard stream.
  const tail = background(['tail', '--hub', hub, '--mesh', 'shop', '--type', 'counter.*', '--json'], project);
  await tail.line('stderr', (l) => l.includes('following mesh shop'));

  // A client system of its own, on the hub's mesh like the node processes.
  const link = mesh({ transports: [websocket(`${hub}/mesh/shop`, { WebSocket })] });
  links.push(link);
  const client = createHappen({ id: 'e2e-client', extensions: [link] });
  const ui = client.createNode('ui');
  await link.waitForNode('counter');
  expect(await ui.send('counter', { type: 'counter.create', payload: { title: 'milk' } }).return({ timeout: 5_000 })).toMatchObject({ id: '1', title: 'milk' });
  const seen = json(await tail.line('stdout', (l) => l.includes('counter.create')));
  expect(seen).toMatchObject({ type: 'counter.create', sender: 'ui', target: 'counter', system: 'e2e-client', targetSystem: 'counter.dev', payload: '{"title":"milk"}' });
  expect(tail.stdout.some((l) => l.includes('happen.reply'))).toBe(false); // the type filter

  // Kill the node's process: dev restarts it, and the node is reachable again (with fresh state).
  process.kill(running1.pid, 'SIGKILL');
  const crashed = json(await dev.line('stdout', (l) => l.includes('"state":"restarting"')));
  expect(crashed).toMatchObject({ file: 'src/nodes/counter.ts', signal: 'SIGKILL', restarts: 1, delayMs: 250 });
  const running2 = json(await dev.line('stdout', (l) => l.includes('"state":"running"') && l.includes('"restarts":1')));
  expect(running2.pid).not.toBe(running1.pid);
  expect(alive(running1.pid)).toBe(false);
  // (A read to probe with, so no create is sent twice while the client learns where counter lives now.)
  await expect.poll(() => ui.send('counter', { type: 'counter.list', payload: {} }).return({ timeout: 1_000 }).catch(() => undefined), { timeout: 10_000 }).toEqual({ items: [] });
  expect(await ui.send('counter', { type: 'counter.create', payload: { title: 'eggs' } }).return({ timeout: 5_000 })).toMatchObject({ id: '1', title: 'eggs' });

  const status = await happen(['status', '--hub', hub, '--mesh', 'shop', '--json'], project);
  expect(status.code).toBe(0);
  const systems = json(status.stdout).mesh[0].systems as Array<{ system: string; nodes: Array<{ id: string; health?: { status: string } }> }>;
  expect(systems.map((s) => s.system).sort()).toEqual(['counter.dev', 'e2e-client', 'hello.dev']);
  expect(systems.find((s) => s.system === 'counter.dev')!.nodes).toMatchObject([{ id: 'counter', health: { status: 'ok' } }]);

  // The log dev recorded spans both runs of the node; replaying it rebuilds what neither run holds alone.
  const log = join('.happen', 'log', 'counter.jsonl');
  const lines = (await readFile(join(project, log), 'utf8')).trim().split('\n').map(json);
  expect(lines.map((l) => l.sequence)).toEqual(lines.map((_, i) => i + 1));
  const creates = lines.filter((l) => l.event.type === 'counter.create');
  expect(creates.map((l) => l.event.payload.title)).toEqual(['milk', 'eggs']);
  expect(lines.every((l) => ['counter.create', 'counter.list'].includes(l.event.type))).toBe(true);
  const replayed = await happen(['replay', '--log', log, '--node', 'src/nodes/counter.ts', '--json'], project);
  expect(replayed.code).toBe(0);
  const result = json(replayed.stdout);
  expect(result).toMatchObject({ node: 'counter', from: 1, to: lines.length, events: lines.length, handled: lines.length, state: { nextId: 3 } });
  expect(Object.values(result.state.items).map((item: any) => item.title)).toEqual(['milk', 'eggs']);
  expect(replayed.stderr).toContain(`replayed ${lines.length} events into counter`);
  const eggs = creates[1]!.sequence as number;
  const human = await happen(['replay', '--log', log, '--node', 'src/nodes/counter.ts', '--from', String(eggs), '--to', String(eggs)], project);
  expect(human.stdout).toContain(`Replayed events ${eggs}-${eggs} of .happen/log/counter.jsonl into counter: 1 event, 1 handled.`);
  expect(human.stdout).toMatch(/"title": "eggs"/);
  expect(human.stdout).not.toMatch(/"title": "milk"/);

  // Ctrl-C: dev stops its node processes and the hub, and exits 0.
  await link.close();
  dev.child.kill('SIGINT');
  expect(await dev.exited).toBe(0);
  expect(dev.stdout.at(-1)).toBe('{"event":"stopped"}');
  expect(alive(running2.pid)).toBe(false);
  await expect(fetch(`${hub}/health`)).rejects.toThrow();
  tail.child.kill('SIGINT');
  expect(await tail.exited).toBe(0);
  expect(Date.now() - started).toBeLessThan(30_000);
}, 60_000);
