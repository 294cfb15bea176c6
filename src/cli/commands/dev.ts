/**
 * `happen dev [--port N] [--no-watch] [--no-record] [--json]`: the local development loop. Starts the
 * hub with its dashboard and metrics on this machine, runs every node module happen.config.json lists
 * in its own process joined to the hub's mesh (over the WebSocket transport), restarts a process
 * that crashes (exponential backoff, at most 5 crashes in 30 s) or whose file changes, records what
 * each node handles for `happen replay`, and stops it all on Ctrl-C / SIGTERM.
 *
 * TypeScript node modules run through tsx (`node --import tsx`), which `happen init` adds to a
 * project's devDependencies.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { integer, parseCommand, type Command } from '../args.ts';
import { loadConfig, resolveNodeFiles, type LoadedConfig } from '../config.ts';
import { LOG_DIR, rotateLogs } from '../dev-log.ts';
import { RUNNER_ENV, type RunnerSpec } from '../dev-protocol.ts';
import { superviseProcess, type ProcessStatus, type SupervisedProcess, type SuperviseOptions } from '../dev-supervisor.ts';
import { serveHub, type HubServer } from '../hub-node.ts';
import { CliError, createOutput, type Io } from '../output.ts';
import { loaderFor, runningTypeScript } from '../ts-loader.ts';
import { createDashboardToken } from '../../observe/dashboard.ts';
import { memoryStorage } from '../../storage/memory.ts';

/** The node runner next to this command: its source under tsx, its build otherwise. */
const RUNNER = fileURLToPath(new URL(`../node-runner.${runningTypeScript ? 'ts' : 'js'}`, import.meta.url));

/** How long a change to a watched file waits for more changes (editors write in several steps). */
const DEBOUNCE_MS = 150;

/** Options of {@link runDev} beyond the command line (tests shorten the restart policy). */
export interface DevOptions {
  port?: number;
  watch?: boolean;
  record?: boolean;
  supervise?: Omit<SuperviseOptions, 'onOutput'>;
}

/** `happen dev`: the local hub, dashboard and node processes. */
export const dev: Command = {
  name: 'dev',
  summary: 'run the local hub + dashboard and every node module, restarting them on crash or change',
  usage: `Usage: happen dev [--port <n>] [--no-watch] [--no-record] [--json]

Starts the hub (with its dashboard and /metrics) on this machine and runs each node module listed
in happen.config.json's nodes in its own process, joined to the hub's mesh. A process that crashes
is restarted after a backoff (250 ms, doubling to 5 s); after more than 5 crashes within 30 s it is
left stopped until its file changes. Saving a node module restarts its process. Ctrl-C stops all.

Every event a node handles is recorded in ${LOG_DIR}/<node>.jsonl (the previous run's logs move to
${LOG_DIR}.previous/): rebuild a node's state from one with happen replay.

TypeScript modules run through tsx (node --import tsx): keep tsx in the project's devDependencies.

Options:
  --port <n>     the hub's port (default: hub.port, 8787; 0 picks a free one)
  --no-watch     do not restart node processes when their files change
  --no-record    do not record handled events
  --json         one JSON object per line on stdout: {"event":"hub"|"node"|"ready"|"stopped", ...};
                 the node processes' output goes to stderr`,
  async run(args, io) {
    const { values } = parseCommand(args, { port: { type: 'string', short: 'p' }, 'no-watch': { type: 'boolean' }, 'no-record': { type: 'boolean' } });
    const port = integer('port', values.port, 0, 65535);
    return runDev(io, values.json === true, {
      ...(port !== undefined ? { port } : {}),
      watch: values['no-watch'] !== true,
      record: values['no-record'] !== true,
    });
  },
};

/** Runs `happen dev` until `io.signal` aborts; resolves to the exit code. */
export async function runDev(io: Io, json: boolean, options: DevOptions = {}): Promise<number> {
  const out = createOutput(io, json);
  const loaded = loadConfig(io, { required: true });
  const { config, root } = loaded;
  const files = resolveNodeFiles(loaded);
  const loader = loaderFor([RUNNER, ...files], root);
  const line = (data: Record<string, unknown>, human: string) => (json ? io.stdout.write(`${JSON.stringify(data)}\n`) : out.info(human));

  const hub = await startHub(loaded, options.port ?? config.hub.port);
  const meshUrl = `${hub.url}/mesh/${encodeURIComponent(config.mesh)}`;
  const token = config.hub.secret === undefined ? '' : `?token=${await createDashboardToken(config.hub.secret, { mesh: config.mesh, ttlMs: 12 * 3_600_000 })}`;
  const dashboard = config.observability.dashboard ? `${hub.url}/dashboard/mesh/${encodeURIComponent(config.mesh)}${token}` : undefined;
  // Tap the mesh from the start (and, with the endless linger, for good): a flow can then be
  // inspected after it ran, not only while a dashboard or tail was looking.
  if (dashboard) await fetch(`${hub.url}/dashboard/api/${encodeURIComponent(config.mesh)}/nodes${token}`).then((r) => r.body?.cancel()).catch(() => {});
  const logDir = options.record === false ? undefined : join(root, LOG_DIR);
  if (logDir !== undefined) rotateLogs(logDir);
  const shown = (file: string) => relative(io.cwd, file) || file;

  line(
    { event: 'hub', url: hub.url, mesh: config.mesh, meshUrl, dashboard: dashboard ?? null, metrics: config.observability.metrics ? `${hub.url}/metrics` : null, logDir: logDir ?? null, files: files.map(shown), pid: process.pid },
    [
      `happen dev: mesh ${config.mesh}, ${files.length} node module${files.length === 1 ? '' : 's'}`,
      `  hub        ${hub.url}  (nodes join ${meshUrl})`,
      ...(dashboard ? [`  dashboard  ${dashboard}`] : []),
      ...(logDir ? [`  recording  ${shown(logDir)}/<node>.jsonl  (happen replay --log <file> --node <module>)`] : []),
      ...(files.length === 0 ? [`  no node modules match happen.config.json's nodes (${config.nodes.join(', ')}): add one with happen create-node`] : []),
      'Press Ctrl-C to stop.',
    ].join('\n'),
  );
  if (config.storage.kind === 'deno-kv') io.stderr.write('happen dev: storage.kind "deno-kv" is for the Deno hub; this hub keeps the mesh log in memory\n');

  const processes = new Map<string, SupervisedProcess>();
  const labels = systemIds(files);
  let ready = false;
  const report = (file: string, status: ProcessStatus) => {
    line({ event: 'node', file: shown(file), ...status }, describe(shown(file), status));
    if (!ready && files.every((f) => ['running', 'failed'].includes(processes.get(f)?.status().state ?? (f === file ? status.state : '')))) {
      ready = true;
      const nodes = files.flatMap((f) => (f === file ? status.nodes : (processes.get(f)?.status().nodes ?? [])));
      line({ event: 'ready', nodes }, `Ready: ${nodes.length > 0 ? nodes.join(', ') : 'no nodes'} on ${hub.url}`);
    }
  };
  for (const file of files) {
    const system = labels.get(file)!;
    const spec: RunnerSpec = {
      file,
      system,
      mesh: config.mesh,
      meshUrl,
      logDir,
      observability: { metrics: config.observability.metrics, samplingRate: config.observability.samplingRate, otlpEndpoint: config.observability.otlpEndpoint },
    };
    const prefix = `[${system.replace(/\.dev$/, '')}] `;
    const supervised = superviseProcess(
      {
        label: shown(file),
        command: process.execPath,
        args: [...(loader ? ['--import', loader] : []), ...(typeof globalThis.WebSocket === 'undefined' ? ['--experimental-websocket'] : []), RUNNER],
        cwd: root,
        env: { ...io.env, [RUNNER_ENV]: JSON.stringify(spec), ...(config.hub.secret !== undefined ? { HAPPEN_SECRET: config.hub.secret } : {}) },
      },
      {
        ...options.supervise,
        // With --json stdout carries only the status lines: the processes' output goes to stderr.
        onOutput: (stream, text) => (json || stream === 'stderr' ? io.stderr : io.stdout).write(`${prefix}${text}\n`),
      },
      (status) => report(file, status),
    );
    processes.set(file, supervised);
  }
  const unwatch = options.watch === false ? () => {} : watchFiles(files, io, (file) => {
    line({ event: 'change', file: shown(file) }, `${shown(file)}: changed, restarting`);
    void processes.get(file)?.restart();
  });

  await aborted(io.signal);
  unwatch();
  await Promise.all([...processes.values()].map((p) => p.stop()));
  await hub.close();
  line({ event: 'stopped' }, 'happen dev: stopped');
  return 0;
}

async function startHub(loaded: LoadedConfig, port: number): Promise<HubServer> {
  const { config } = loaded;
  try {
    return await serveHub({
      port,
      hostname: config.hub.hostname,
      ...(config.hub.secret !== undefined ? { secret: config.hub.secret } : {}),
      storage: memoryStorage(config.storage.kind === 'memory' && config.storage.maxBytes !== undefined ? { maxBytes: config.storage.maxBytes } : {}),
      dashboard: config.observability.dashboard ? { lingerMs: Number.POSITIVE_INFINITY } : false,
      metrics: config.observability.metrics ? {} : false,
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EADDRINUSE') {
      throw new CliError('PORT_IN_USE', `port ${port} on ${config.hub.hostname} is in use: stop what holds it, or pick another with --port (0 picks a free one)`, 1, { port });
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new CliError('BAD_HOSTNAME', `hub.hostname ${config.hub.hostname} is not an address of this machine`, 1, { hostname: config.hub.hostname });
    }
    throw error;
  }
}

/** One system id per module, from its file name (`src/nodes/orders.ts` → `orders.dev`), unique among them. */
function systemIds(files: string[]): Map<string, string> {
  const ids = new Map<string, string>();
  const taken = new Set<string>();
  for (const file of files) {
    const stem = basename(file, extname(file)).replace(/[^A-Za-z0-9._-]/g, '-') || 'node';
    let id = `${stem}.dev`;
    for (let n = 2; taken.has(id); n++) id = `${stem}-${n}.dev`;
    taken.add(id);
    ids.set(file, id);
  }
  return ids;
}

function describe(file: string, s: ProcessStatus): string {
  const how = s.signal ? `killed by ${s.signal}` : `exit code ${s.exitCode}`;
  const why = s.error ? `: ${s.error}` : '';
  switch (s.state) {
    case 'starting':
      return s.reason === 'crash' ? `${file}: restarting (pid ${s.pid ?? '?'})` : `${file}: starting (pid ${s.pid ?? '?'})`;
    case 'running':
      return `${file}: running (pid ${s.pid}): ${s.nodes.length > 0 ? s.nodes.join(', ') : 'no nodes'}`;
    case 'restarting':
      return `${file}: crashed (${how}${why}); restarting in ${s.delayMs} ms`;
    case 'failed':
      return `${file}: crashed (${how}${why}) too often; left stopped until the file changes`;
    case 'stopped':
      return `${file}: stopped`;
  }
}

/** Watches the directories of `files` (editors replace files, which a watch on the file itself misses); returns the stop function. */
function watchFiles(files: string[], io: Io, changed: (file: string) => void): () => void {
  const byDir = new Map<string, Set<string>>();
  for (const file of files) {
    const names = byDir.get(dirname(file)) ?? new Set<string>();
    names.add(basename(file));
    byDir.set(dirname(file), names);
  }
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDir) {
    try {
      const watcher = watch(dir, (_event, name) => {
        if (name === null || !names.has(name.toString())) return;
        const file = join(dir, name.toString());
        clearTimeout(timers.get(file));
        timers.set(file, setTimeout(() => changed(file), DEBOUNCE_MS));
      });
      watcher.on('error', () => watcher.close());
      watchers.push(watcher);
    } catch (error) {
      io.stderr.write(`happen dev: not watching ${dir} (${error instanceof Error ? error.message : String(error)})\n`);
    }
  }
  return () => {
    for (const timer of timers.values()) clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
