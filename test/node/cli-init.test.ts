/**
 * `happen init` and `happen create-node`, end to end in temporary directories: the commands write a
 * project, the project resolves `happen` to this repository (built into a temporary package, as npm
 * would install it), and what was generated typechecks and runs — each node template exercised with a
 * real Happen system, the project's own tests in Node and Deno, the Deno dev entry, the container's
 * hub entry, and the Cloudflare template through `wrangler deploy --dry-run`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { projectFiles } from '../../src/cli/commands/init.ts';
import { loadConfig } from '../../src/cli/config.ts';
import { runCli } from '../../src/cli/main.ts';
import type * as HappenApi from '../../src/index.ts';
import type * as StorageApi from '../../src/storage/index.ts';

const root = join(import.meta.dirname, '..', '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const TEMPLATES = ['api', 'db', 'webhook', 'agent', 'browser'] as const;

let tmp: string;
/** This repository as an installed package: package.json, dist/ built from src/, its dependencies linked. */
let pkg: string;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process (the same code the bin runs), capturing what it writes. */
async function cli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    cwd,
    env,
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

/** Runs a program to its end; resolves with its exit code and output (never rejects on a non-zero exit). */
function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: options.cwd, env: { ...cleanEnv(), ...options.env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The environment without HAPPEN_* settings, so the machine's never leak into a test. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: '1' };
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('HAPPEN_') && value !== undefined) env[key] = value;
  return env;
}

/**
 * Gives a generated project its dependencies: `happen` → a copy of the built package, as npm installs
 * it (Deno type-checks a package inside node_modules by its package.json, but a symlink out of
 * node_modules is followed to plain local files); its own dependencies and the rest from this repo.
 */
async function linkDependencies(project: string): Promise<void> {
  const installed = join(project, 'node_modules', 'happen');
  await mkdir(join(project, 'node_modules', '@types'), { recursive: true });
  await cp(join(pkg, 'dist'), join(installed, 'dist'), { recursive: true });
  await copyFile(join(pkg, 'package.json'), join(installed, 'package.json'));
  await symlink(join(root, 'node_modules'), join(installed, 'node_modules'), 'dir');
  for (const name of ['valibot', 'tsx', '@types/node']) await symlink(join(root, 'node_modules', name), join(project, 'node_modules', name), 'dir');
}

/** Starts a long-running program and resolves with the first stdout line matching `ready`. */
function start(command: string, args: string[], cwd: string, env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray; exited: Promise<number | null> }> {
  const child = spawn(command, args, { cwd, env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} never printed ${ready}:\n${out}\n${err}`));
    }, 20_000);
    child.stderr!.on('data', (chunk) => (err += chunk));
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code}) before it was ready:\n${out}\n${err}`));
    });
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'happen-cli-'));
  pkg = join(tmp, 'happen');
  await mkdir(pkg);
  await copyFile(join(root, 'package.json'), join(pkg, 'package.json'));
  await symlink(join(root, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  // What `npm run build` does, into the temporary package: the repo's own dist/ is left alone, since
  // other tests and builds may be using it. tsc emits even when some unrelated file has a type error
  // (the typecheck job reports those); what matters here is that the entries exist.
  const built = await run(bin('tsc'), ['-p', join(root, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], { cwd: root });
  for (const entry of ['index.js', 'storage/index.js', 'hub/cloudflare.js', 'hub/deno.js', 'cli/hub-node.js', 'agent/index.js']) {
    expect(existsSync(join(pkg, 'dist', entry)), `dist/${entry} (tsc: ${built.stdout}${built.stderr})`).toBe(true);
  }
}, 60_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('[node] happen init', () => {
  test('creates every file of a project, with a config the CLI accepts, and prints the next steps', async () => {
    const ran = await cli(['init', 'shop'], tmp);
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    expect(ran.stdout).toContain('Created shop in shop');
    expect(ran.stdout).toMatch(/cd shop\n\s+npm install/);
    const dir = join(tmp, 'shop');
    const expected = projectFiles('shop').map((f) => f.path);
    expect(expected).toEqual(
      expect.arrayContaining([
        'package.json',
        'happen.config.json',
        'tsconfig.json',
        'src/nodes/hello.ts',
        'deploy/cloudflare/wrangler.toml',
        'deploy/cloudflare/worker.ts',
        'deno.json',
        'deploy/container/Dockerfile',
        'deploy/container/hub.mjs',
      ]),
    );
    for (const file of expected) expect(existsSync(join(dir, file)), file).toBe(true);

    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: 'shop', type: 'module', dependencies: { happen: expect.stringMatching(/^\^\d/), valibot: expect.any(String) } });
    const loaded = loadConfig({ cwd: join(dir, 'src'), env: {} }, { required: true });
    expect(loaded.root).toBe(dir);
    expect(loaded.config).toMatchObject({ mesh: 'shop', hub: { port: 8787, hostname: '127.0.0.1' }, nodes: ['src/nodes/hello.ts'], storage: { kind: 'memory' } });
    const deno = JSON.parse(await readFile(join(dir, 'deno.json'), 'utf8'));
    expect(Object.keys(deno.tasks)).toEqual(['dev', 'hub', 'test']);
    const toml = await readFile(join(dir, 'deploy/cloudflare/wrangler.toml'), 'utf8');
    expect(toml).toMatch(/\[\[durable_objects\.bindings\]\]\s*name = "HUB"\s*class_name = "HubDurableObject"/);
    expect(toml).toMatch(/\[\[migrations\]\]\s*tag = "v1"\s*new_sqlite_classes = \["HubDurableObject"\]/);
    expect(await readFile(join(dir, 'deploy/cloudflare/worker.ts'), 'utf8')).toContain("from 'happen/hub/cloudflare'");
    expect(await readFile(join(dir, 'deploy/container/Dockerfile'), 'utf8')).toMatch(/CMD \["node", "deploy\/container\/hub\.mjs"\]/);
  });

  test('--json prints one document listing the files; --name sets the package and mesh name', async () => {
    const ran = await run(bin('tsx'), [join(root, 'src/cli/main.ts'), 'init', 'json-project', '--name', 'my-app', '--json'], { cwd: tmp });
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    const result = JSON.parse(ran.stdout);
    expect(result).toEqual({ dir: join(tmp, 'json-project'), name: 'my-app', files: projectFiles('my-app').map((f) => f.path) });
    expect(JSON.parse(await readFile(join(tmp, 'json-project', 'happen.config.json'), 'utf8')).mesh).toBe('my-app');
  });

  test('the built bin, linked the way npm links it, runs the commands with their exit codes', async () => {
    const dir = join(tmp, 'bin-user');
    await mkdir(join(dir, 'node_modules', '.bin'), { recursive: true });
    const main = join(pkg, 'dist', 'cli', 'main.js');
    await chmod(main, 0o755); // npm does this on install
    await symlink(pkg, join(dir, 'node_modules', 'happen'), 'dir');
    await symlink('../happen/dist/cli/main.js', join(dir, 'node_modules', '.bin', 'happen'));
    const happen = join(dir, 'node_modules', '.bin', 'happen');
    const created = await run(happen, ['init', 'p', '--json'], { cwd: dir });
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout).files).toContain('deploy/cloudflare/wrangler.toml');
    const added = await run(happen, ['create-node', 'ledger', '--template', 'db', '--json'], { cwd: join(dir, 'p') });
    expect(JSON.parse(added.stdout)).toMatchObject({ file: 'src/nodes/ledger.ts', configUpdated: true });
    expect(await run(happen, ['create-node', 'ledger', '--template', 'db'], { cwd: join(dir, 'p') })).toMatchObject({ code: 1, stderr: expect.stringContaining('already exists') });
    expect(await run(happen, ['bogus'], { cwd: dir })).toMatchObject({ code: 2, stdout: '', stderr: 'happen: unknown command "bogus" (try: happen help)\n' });
  });

  test('refuses a directory that is not empty unless --force, which keeps the files it does not write', async () => {
    const dir = join(tmp, 'busy');
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'mine');
    const refused = await cli(['init', 'busy'], tmp);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`happen init: ${dir} is not empty (notes.txt); use --force to write into it anyway\n`);
    expect(existsSync(join(dir, 'package.json'))).toBe(false);

    const asJson = await cli(['init', 'busy', '--json'], tmp);
    expect(asJson.code).toBe(1);
    expect(asJson.stdout).toBe('');
    expect(JSON.parse(asJson.stderr)).toMatchObject({ error: { code: 'DIR_NOT_EMPTY', details: { entries: ['notes.txt'] } } });

    expect((await cli(['init', 'busy', '--force'], tmp)).code).toBe(0);
    expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(existsSync(join(dir, 'happen.config.json'))).toBe(true);
  });

  test('a fresh git repository counts as empty; the name comes from the directory, made a valid package name', async () => {
    const dir = join(tmp, 'My Project');
    await mkdir(join(dir, '.git'), { recursive: true });
    const ran = await cli(['init', '--json'], dir);
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout).name).toBe('my-project');
  });

  test('usage errors exit 2 and name the argument', async () => {
    expect(await cli(['init', 'x', '--name', 'Bad Name'], tmp)).toMatchObject({ code: 2, stderr: expect.stringContaining('--name must be a package name') });
    expect(await cli(['init', 'a', 'b'], tmp)).toMatchObject({ code: 2, stderr: 'happen init: unexpected argument "b" (see: happen init --help)\n' });
    expect(await cli(['init', '--nmae', 'x'], tmp)).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown option --nmae') });
    expect(await cli(['init', '--name'], tmp)).toMatchObject({ code: 2, stderr: expect.stringContaining('--name needs a value') });
    const asJson = await cli(['init', '--bogus', '--json'], tmp);
    expect(asJson.code).toBe(2);
    expect(JSON.parse(asJson.stderr)).toEqual({ error: { code: 'USAGE', category: 'validation', message: 'unknown option --bogus' } });
  });

  test('help lists the commands; each command has its own help', async () => {
    const help = await cli(['help'], tmp);
    expect(help.stdout).toMatch(/init\s+create a project/);
    expect(help.stdout).toMatch(/create-node\s+add a node/);
    expect((await cli(['help', 'init'], tmp)).stdout).toMatch(/^Usage: happen init \[dir\]/);
    expect(await cli(['help', 'deploy'], tmp)).toMatchObject({ code: 2, stderr: 'happen: unknown command "deploy" (try: happen help)\n' });
    expect((await cli(['create-node', '--help'], tmp)).stdout).toMatch(/^Usage: happen create-node <name> --template <template>/);
    expect(JSON.parse((await cli(['init', '--help', '--json'], tmp)).stdout)).toMatchObject({ name: 'init', usage: expect.stringMatching(/^Usage: happen init/) });
    expect(JSON.parse((await cli(['--version', '--json'], tmp)).stdout)).toEqual({ version: expect.any(String) });
  });
});

describe('[node] happen create-node', () => {
  let project: string;
  beforeAll(async () => {
    project = join(tmp, 'nodes-project');
    expect((await cli(['init', project, '--name', 'nodes-project'], tmp)).code).toBe(0);
  });

  test('writes src/nodes/NAME.ts and adds it to the config (--json tells what it did)', async () => {
    const ran = await cli(['create-node', 'orders', '--template', 'api', '--json'], join(project, 'src'));
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(ran.stdout)).toEqual({
      name: 'orders',
      template: 'api',
      file: 'src/nodes/orders.ts',
      config: join(project, 'happen.config.json'),
      configUpdated: true,
      events: ['orders.create', 'orders.get', 'orders.update', 'orders.list'],
    });
    expect(await readFile(join(project, 'src/nodes/orders.ts'), 'utf8')).toContain("happen.createNode<OrdersState>('orders'");
    const config = JSON.parse(await readFile(join(project, 'happen.config.json'), 'utf8'));
    expect(config.nodes).toEqual(['src/nodes/hello.ts', 'src/nodes/orders.ts']);
    expect(config.mesh).toBe('nodes-project'); // the rest of the file is kept
  });

  test('a glob in nodes that covers the new file leaves the config as it is', async () => {
    const dir = join(tmp, 'glob-project');
    expect((await cli(['init', dir], tmp)).code).toBe(0);
    const configPath = join(dir, 'happen.config.json');
    const config = JSON.parse(await readFile(configPath, 'utf8'));
    await writeFile(configPath, JSON.stringify({ ...config, nodes: ['src/**/*.ts'] }));
    const before = await readFile(configPath, 'utf8');
    const ran = await cli(['create-node', 'inbox', '--template', 'webhook'], dir);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('happen.config.json already covers it');
    expect(await readFile(configPath, 'utf8')).toBe(before);
  });

  test('refuses bad names, unknown or missing templates, existing files, and a directory outside a project', async () => {
    const inProject = (args: string[]) => cli(['create-node', ...args], project);
    expect(await inProject(['9lives', '--template', 'api'])).toMatchObject({ code: 2, stderr: expect.stringContaining('the node name must be a letter, then letters, digits, "-" or "_", at most 64 in all (got "9lives")') });
    expect(await inProject(['has space', '--template', 'api'])).toMatchObject({ code: 2 });
    expect(await inProject(['../escape', '--template', 'api'])).toMatchObject({ code: 2 });
    expect(await inProject(['x'.repeat(65), '--template', 'api'])).toMatchObject({ code: 2 });
    expect(await inProject(['hub', '--template', 'api'])).toMatchObject({ code: 2, stderr: expect.stringContaining('"hub" is reserved') });
    expect(await inProject(['--template', 'api'])).toMatchObject({ code: 2, stderr: expect.stringContaining('a node name is required') });
    expect(await inProject(['things'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--template is required: one of api, db, webhook, agent, browser') });
    expect(await inProject(['things', '--template', 'graphql'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--template must be one of api, db, webhook, agent, browser (got "graphql")') });
    expect(await inProject(['things', '--template'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--template needs a value') });
    expect(existsSync(join(project, 'src/nodes/things.ts'))).toBe(false);

    const existing = await inProject(['hello', '--template', 'db', '--json']);
    expect(existing.code).toBe(1);
    expect(JSON.parse(existing.stderr)).toMatchObject({ error: { code: 'FILE_EXISTS', message: expect.stringContaining('src/nodes/hello.ts already exists') } });
    expect(await readFile(join(project, 'src/nodes/hello.ts'), 'utf8')).toContain("createNode<HelloState>('hello'");

    const outside = await mkdtemp(join(tmpdir(), 'happen-no-project-'));
    try {
      const ran = await cli(['create-node', 'x', '--template', 'api'], outside);
      expect(ran.code).toBe(1);
      expect(ran.stderr).toContain('no happen.config.json in');
      expect(ran.stderr).toContain('happen init');
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  test('an invalid config stops it with the field named', async () => {
    const dir = join(tmp, 'broken-project');
    expect((await cli(['init', dir], tmp)).code).toBe(0);
    await writeFile(join(dir, 'happen.config.json'), JSON.stringify({ mesh: 'ok', hub: { port: 'abc' } }));
    const ran = await cli(['create-node', 'x', '--template', 'api'], dir);
    expect(ran).toEqual({ code: 1, stdout: '', stderr: 'happen create-node: happen.config.json: hub.port must be an integer between 0 and 65535 (0 picks a free port) (got "abc")\n' });
  });
});

describe('[node] generated projects work', () => {
  /** A project with one node of every template, its dependencies linked. */
  let project: string;
  let happen: typeof HappenApi;
  let storage: typeof StorageApi;
  const load = async <T>(name: string): Promise<T> => (await import(pathToFileURL(join(project, 'src', 'nodes', `${name}.ts`)).href)) as T;

  beforeAll(async () => {
    project = join(tmp, 'app');
    expect((await cli(['init', project, '--name', 'app'], tmp)).code).toBe(0);
    for (const template of TEMPLATES) expect((await cli(['create-node', `my-${template}`, '--template', template], project)).code).toBe(0);
    await linkDependencies(project);
    // The same module instances the generated nodes import (through node_modules/happen).
    happen = (await import(pathToFileURL(join(project, 'node_modules', 'happen', 'dist', 'index.js')).href)) as typeof HappenApi;
    storage = (await import(pathToFileURL(join(project, 'node_modules', 'happen', 'dist', 'storage', 'index.js')).href)) as typeof StorageApi;
  }, 30_000);

  test('the project typechecks with tsc against the built package (every template, the example node)', async () => {
    const ran = await run(bin('tsc'), ['-p', join(project, 'tsconfig.json')], { cwd: project });
    expect(ran.stdout + ran.stderr).toBe('');
    expect(ran.code).toBe(0);
  }, 30_000);

  test('api: answers create, get, update and list; a bad payload or id is an error to the sender', async () => {
    type Item = { id: string; title: string; done: boolean };
    const mod = await load<{ default: (h: HappenApi.Happen) => HappenApi.HappenNode }>('my-api');
    const system = happen.createHappen();
    mod.default(system);
    const ui = system.createNode('ui');
    const ask = <T>(type: string, payload: unknown) => ui.send<T>('my-api', { type, payload }).return({ timeout: 2_000 });
    const first = await ask<Item>('my-api.create', { title: '  Ship it ' });
    expect(first).toMatchObject({ id: '1', title: 'Ship it', done: false });
    await ask('my-api.create', { title: 'Write docs', done: true });
    expect(await ask('my-api.get', { id: '1' })).toEqual(first);
    expect(await ask('my-api.update', { id: '1', done: true })).toMatchObject({ id: '1', title: 'Ship it', done: true });
    expect((await ask<{ items: Item[] }>('my-api.list', {})).items.map((i) => i.title)).toEqual(['Ship it', 'Write docs']);
    expect((await ask<{ items: Item[] }>('my-api.list', { done: true, limit: 1 })).items).toHaveLength(1);
    await expect(ask('my-api.create', { title: '' })).rejects.toMatchObject({ category: 'validation', code: 'INVALID_PAYLOAD' });
    await expect(ask('my-api.get', { id: '99' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  test('db: inserts into and queries a happen/storage store; changes are broadcast as events', async () => {
    const mod = await load<{ default: (h: HappenApi.Happen, s?: StorageApi.Storage) => HappenApi.HappenNode }>('my-db');
    const store = storage.memoryStorage();
    const system = happen.createHappen();
    mod.default(system, store);
    const ui = system.createNode('ui');
    const changes: unknown[] = [];
    ui.on('my-db.changed', (event) => void changes.push(event.payload));
    const ask = <T>(type: string, payload: unknown) => ui.send<T>('my-db', { type, payload }).return({ timeout: 2_000 });
    const sarah = await ask<{ id: string }>('my-db.insert', { table: 'users', row: { name: 'sarah', plan: 'pro' } });
    await ask('my-db.insert', { table: 'users', row: { name: 'omar', plan: 'free' } });
    await ask('my-db.insert', { table: 'users', row: { name: 'lee', plan: 'pro' } });
    await ask('my-db.insert', { table: 'teams', row: { name: 'pro' } });
    const pro = await ask<{ rows: Array<{ name: string; id: string }> }>('my-db.query', { table: 'users', where: { plan: 'pro' } });
    expect(pro.rows.map((r) => r.name)).toEqual(['sarah', 'lee']); // id order is insertion order
    expect(pro.rows[0]!.id).toBe(sarah.id);
    expect((await ask<{ rows: unknown[] }>('my-db.query', { table: 'users', limit: 2 })).rows).toHaveLength(2);
    expect(await store.get(`my-db/users/${sarah.id}`)).toEqual({ name: 'sarah', plan: 'pro', id: sarah.id });
    expect(await ask('my-db.delete', { table: 'users', id: sarah.id })).toEqual({ deleted: true });
    expect(await ask('my-db.delete', { table: 'users', id: sarah.id })).toEqual({ deleted: false });
    await system.settled();
    expect(changes).toHaveLength(5);
    expect(changes.at(-1)).toEqual({ table: 'users', id: sarah.id, change: 'delete' });
    await expect(ask('my-db.insert', { table: 'bad table', row: {} })).rejects.toMatchObject({ code: 'INVALID_PAYLOAD' });
  });

  test('webhook: a correctly signed body becomes an event; a bad or missing signature is a 401 and no event', async () => {
    type Webhook = {
      default: (h: HappenApi.Happen, o?: { secret?: string }) => HappenApi.HappenNode;
      handleRequest: (node: HappenApi.HappenNode) => (request: Request) => Promise<Response>;
      sign: (secret: string, body: string) => Promise<string>;
    };
    const mod = await load<Webhook>('my-webhook');
    const system = happen.createHappen();
    const handle = mod.handleRequest(mod.default(system, { secret: 's3cret' }));
    const seen: HappenApi.HappenEvent[] = [];
    system.createNode('listener').on('my-webhook.received', (event) => void seen.push(event));
    const body = JSON.stringify({ action: 'paid', order: 42 });
    const post = (headers: Record<string, string>, text = body) => handle(new Request('http://hook/', { method: 'POST', body: text, headers }));

    const accepted = await post({ 'x-signature-256': await mod.sign('s3cret', body) });
    expect(accepted.status).toBe(202);
    const { event } = (await accepted.json()) as { event: string };
    await system.settled();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.id).toBe(event);
    expect(seen[0]!.payload).toMatchObject({ body: { action: 'paid', order: 42 } });
    // The received event is caused by the delivery, so the whole webhook is one trace.
    expect(system.trace(seen[0]!.context.causal.correlationId).roots[0]!.event.type).toBe('my-webhook.deliver');

    expect((await post({ 'x-signature-256': await mod.sign('wrong secret', body) })).status).toBe(401);
    expect((await post({ 'x-signature-256': await mod.sign('s3cret', body) }, body.replace('42', '43'))).status).toBe(401);
    expect((await post({})).status).toBe(401);
    expect((await post({ 'x-signature-256': 'sha256=zz' })).status).toBe(401);
    expect(await (await post({ 'x-signature-256': await mod.sign('s3cret', 'not json') }, 'not json')).json()).toEqual({ error: 'INVALID_BODY' });
    expect((await handle(new Request('http://hook/'))).status).toBe(405);
    await system.settled();
    expect(seen).toHaveLength(1);

    // Without a secret every delivery is refused, never accepted unchecked.
    const bare = happen.createHappen();
    const unsecured = mod.handleRequest(mod.default(bare, {}));
    const refused = await unsecured(new Request('http://hook/', { method: 'POST', body, headers: { 'x-signature-256': await mod.sign('any secret', body) } }));
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: 'NO_SECRET' });
  });

  test('agent: thinks with the stand-in model and calls its tool; HAPPEN_MODEL_URL picks an OpenAI-compatible model', async () => {
    type Agent = {
      default: (h: HappenApi.Happen) => HappenApi.HappenNode;
      modelFromEnv: (env: Record<string, string | undefined>) => { name: string };
    };
    const mod = await load<Agent>('my-agent');
    const system = happen.createHappen();
    mod.default(system);
    const ui = system.createNode('ui');
    let streamed = '';
    ui.on('agent.token', (event) => void (streamed += event.payload.text));
    const sent = ui.send<{ content: string; toolCalls: Array<{ name: string }>; rounds: number }>('my-agent', { type: 'agent.think', payload: { input: 'What time is it?' } });
    const answer = await sent.return({ timeout: 5_000 });
    expect(answer.content).toMatch(/^It is \d{4}-\d\d-\d\dT.*\(UTC\)\.$/);
    expect(answer.toolCalls.map((c) => c.name)).toEqual(['current_time']);
    expect(answer.rounds).toBe(2);
    await system.settled();
    expect(streamed).toBe(answer.content);
    const echo = await ui.send<{ content: string }>('my-agent', { type: 'agent.think', payload: { input: 'hi there' } }).return({ timeout: 5_000 });
    expect(echo.content).toContain('You said: hi there');
    expect(mod.modelFromEnv({}).name).toBe('stand-in');
    expect(mod.modelFromEnv({ HAPPEN_MODEL_URL: 'http://127.0.0.1:11434/v1', HAPPEN_MODEL: 'llama3.2' }).name).toBe('openai:llama3.2');
  });

  test('browser: two tabs meshed over BroadcastChannel both see a posted note; the module bundles for a browser', async () => {
    type Tab = { node: HappenApi.HappenNode<{ notes: Array<{ text: string; from: string }> }>; link: { ready: Promise<void>; waitForNode(id: string, o?: { timeout?: number }): Promise<void> }; close(): Promise<void> };
    type Browser = { openTab: (o: { mesh?: string; id?: string }) => Tab; post: (node: Tab['node'], text: string) => Promise<unknown> };
    const mod = await load<Browser>('my-browser');
    const mesh = `cli-test-${Date.now()}`; // Node's BroadcastChannel is process-wide: keep other tests off this channel
    const a = mod.openTab({ mesh, id: 'tab-a' });
    const b = mod.openTab({ mesh, id: 'tab-b' });
    try {
      await b.link.waitForNode('my-browser-tab-a', { timeout: 5_000 });
      await mod.post(a.node, '  hello from a ');
      await expect.poll(() => b.node.state.get().notes, { timeout: 3_000 }).toEqual([expect.objectContaining({ text: 'hello from a', from: 'my-browser-tab-a' })]);
      expect(a.node.state.get().notes).toHaveLength(1); // the posting tab shows its own note too
      // An empty note is refused by every receiving node's schema: an error event back to the sender, no note.
      const errors: string[] = [];
      a.node.on('happen.error', (event) => void errors.push(event.payload.code));
      await mod.post(a.node, '   ');
      await expect.poll(() => errors, { timeout: 3_000 }).toEqual(['INVALID_PAYLOAD', 'INVALID_PAYLOAD']);
      expect(b.node.state.get().notes).toHaveLength(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    const bundle = await build({
      entryPoints: [join(project, 'src/nodes/my-browser.ts')],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      nodePaths: [join(project, 'node_modules')],
      logLevel: 'silent',
    });
    const code = bundle.outputFiles[0]!.text;
    expect(code).toContain('BroadcastChannel');
    expect(code).not.toMatch(/from\s*["']node:/);
  }, 20_000);

  test("the project's own tests pass in Node (npm test) and in Deno (deno task test)", async () => {
    const node = await run(process.execPath, ['--import', 'tsx', '--test', 'test/hello.test.ts'], { cwd: project });
    expect(node.stdout).toMatch(/# pass 2\n# fail 0/);
    expect(node.code).toBe(0);
    const deno = await run(bin('deno'), ['task', 'test'], { cwd: project });
    expect(deno.stdout + deno.stderr).toMatch(/2 passed \| 0 failed/);
    expect(deno.code).toBe(0);
    // Deno's checker sees happen's types through the package (not `any`): a wrong one is caught.
    await writeFile(join(project, 'wrong-type.ts'), "import { createHappen } from 'happen';\nexport const id: number = createHappen().createNode('x').id;\n");
    const checked = await run(bin('deno'), ['check', 'wrong-type.ts'], { cwd: project });
    await rm(join(project, 'wrong-type.ts'));
    expect(checked.stdout + checked.stderr).toMatch(/TS2322.*'string' is not assignable to type 'number'/s);
    expect(checked.code).not.toBe(0);
  }, 60_000);

  test("Deno's dev entry runs a local hub with every configured node meshed to it", async () => {
    const deno = JSON.parse(await readFile(join(project, 'deno.json'), 'utf8'));
    // The dev task without --watch (the watcher would keep restarting), with the task's permissions.
    const args = (deno.tasks.dev as string).split(' ').slice(1).filter((a) => a !== '--watch');
    const { child, match, exited } = await start(bin('deno'), args, project, { HAPPEN_HUB_PORT: '0' }, /hub on (http:\/\/127\.0\.0\.1:\d+).*nodes: (.*)\n/);
    try {
      expect(match[2]!.split(', ').sort()).toEqual(['hello', 'my-agent', 'my-api', 'my-browser-deno-dev', 'my-db', 'my-webhook']);
      // The hub learns the nodes from the system's presence frames.
      const health = async () => (await (await fetch(`${match[1]}/health`)).json()) as { ok: boolean; peers: number; nodes: number };
      await expect.poll(health, { timeout: 5_000 }).toMatchObject({ ok: true, peers: 1, nodes: 6 });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 30_000);

  test("the container's hub entry serves /health and stops cleanly on SIGTERM", async () => {
    const { child, match, exited } = await start(process.execPath, ['deploy/container/hub.mjs'], project, { HAPPEN_HUB_PORT: '0', HAPPEN_HUB_HOSTNAME: '127.0.0.1' }, /listening on (http:\/\/127\.0\.0\.1:\d+) \(mesh app:/);
    try {
      expect(await (await fetch(`${match[1]}/health`)).json()).toMatchObject({ ok: true });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 30_000);

  test('wrangler accepts the Cloudflare template (deploy --dry-run): the Durable Object binding, a bundle of happen/hub/cloudflare', async () => {
    const out = join(tmp, 'wrangler-out');
    const ran = await run(bin('wrangler'), ['deploy', '--dry-run', '--outdir', out, '-c', join(project, 'deploy/cloudflare/wrangler.toml')], {
      cwd: project,
      env: { WRANGLER_SEND_METRICS: 'false', CI: '1' },
    });
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/env\.HUB \(HubDurableObject\)\s+Durable Object/);
    const bundle = await readFile(join(out, 'worker.js'), 'utf8');
    expect(bundle).toMatch(/HubDurableObject = class/);
    expect(bundle).not.toMatch(/from\s*["']node:/);
  }, 60_000);
});
