/**
 * The CLI's config (happen.config.json + environment, valibot-validated, errors naming the field),
 * its argument parsing, and its output: results, JSON errors, and progress that is plain text when
 * stderr is not a terminal.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { integer, oneOf, parseCommand, wantsHelp, wantsJson } from '../../src/cli/args.ts';
import { findConfigFile, loadConfig, nodesCover, parseConfig, resolveNodeFiles } from '../../src/cli/config.ts';
import { CliError, createOutput, reportError, usageError, type TextStream } from '../../src/cli/output.ts';

let tmp: string;
beforeAll(async () => void (tmp = await mkdtemp(join(tmpdir(), 'happen-config-'))));
afterAll(async () => void (tmp && (await rm(tmp, { recursive: true, force: true }))));

/** The message parseConfig throws for `raw` (and `env`). */
function problem(raw: unknown, env: Record<string, string> = {}): string {
  try {
    parseConfig(raw, env);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return (error as CliError).message;
  }
  throw new Error('expected the config to be refused');
}

describe('[node] cli config', () => {
  test('a full file is read as written; what it leaves out gets the defaults', () => {
    const file = {
      $schema: './node_modules/happen/config.schema.json',
      mesh: 'shop.prod_1',
      hub: { port: 9000, hostname: '0.0.0.0', url: 'wss://hub.example.com' },
      nodes: ['src/nodes/*.ts', 'lib/extra.mjs'],
      storage: { kind: 'deno-kv', path: 'data/hub.kv' },
      observability: { metrics: false, dashboard: false, samplingRate: 0.25, otlpEndpoint: 'http://127.0.0.1:4318/v1/traces' },
    };
    expect(parseConfig(file)).toEqual({
      mesh: 'shop.prod_1',
      hub: { port: 9000, hostname: '0.0.0.0', url: 'wss://hub.example.com', secret: undefined },
      nodes: ['src/nodes/*.ts', 'lib/extra.mjs'],
      storage: { kind: 'deno-kv', path: 'data/hub.kv' },
      observability: { metrics: false, dashboard: false, samplingRate: 0.25, otlpEndpoint: 'http://127.0.0.1:4318/v1/traces' },
    });
    expect(parseConfig({})).toEqual({
      mesh: 'default',
      hub: { port: 8787, hostname: '127.0.0.1', url: undefined, secret: undefined },
      nodes: ['src/nodes/*.ts'],
      storage: { kind: 'memory', maxBytes: undefined },
      observability: { metrics: true, dashboard: true, samplingRate: 1, otlpEndpoint: undefined },
    });
    expect(parseConfig({ storage: { kind: 'deno-kv' } }).storage).toEqual({ kind: 'deno-kv', path: '.happen/hub.kv' });
    expect(parseConfig({ storage: { kind: 'memory', maxBytes: 1024 } }).storage).toEqual({ kind: 'memory', maxBytes: 1024 });
    expect(parseConfig({ hub: { port: 0 } }).hub.port).toBe(0); // a free port, for tests and parallel dev hubs
  });

  test('environment variables override the file', () => {
    const env = { HAPPEN_MESH: 'staging', HAPPEN_HUB_PORT: '9100', HAPPEN_HUB_HOSTNAME: '::1', HAPPEN_HUB_URL: 'https://hub.example.com', HAPPEN_SECRET: 'shh', UNRELATED: 'x' };
    expect(parseConfig({ mesh: 'shop', hub: { port: 8787, hostname: '127.0.0.1', url: 'ws://127.0.0.1:1' } }, env)).toMatchObject({
      mesh: 'staging',
      hub: { port: 9100, hostname: '::1', url: 'https://hub.example.com', secret: 'shh' },
    });
    expect(parseConfig({ mesh: 'shop' }, { HAPPEN_HUB_PORT: '0' }).hub.port).toBe(0);
  });

  test.each([
    [{ mesh: 'my shop' }, 'happen.config.json: mesh must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit (got "my shop")'],
    [{ mesh: 42 }, 'happen.config.json: mesh must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit (got 42)'],
    [{ hub: { port: 'abc' } }, 'happen.config.json: hub.port must be an integer between 0 and 65535 (0 picks a free port) (got "abc")'],
    [{ hub: { port: 70000 } }, 'happen.config.json: hub.port must be an integer between 0 and 65535 (0 picks a free port) (got 70000)'],
    [{ hub: { port: 80.5 } }, 'happen.config.json: hub.port must be an integer between 0 and 65535 (0 picks a free port) (got 80.5)'],
    [{ hub: { port: -1 } }, 'happen.config.json: hub.port must be an integer between 0 and 65535 (0 picks a free port) (got -1)'],
    [{ hub: { hostname: '' } }, 'happen.config.json: hub.hostname must be a non-empty host name or IP address (got "")'],
    [{ hub: { url: 'ftp://hub' } }, 'happen.config.json: hub.url must be an http://, https://, ws:// or wss:// URL (got "ftp://hub")'],
    [{ hub: { url: 'not a url' } }, 'happen.config.json: hub.url must be an http://, https://, ws:// or wss:// URL (got "not a url")'],
    [{ hub: 8787 }, 'happen.config.json: hub must be an object (got 8787)'],
    [{ hub: { secret: 'abc' } }, 'happen.config.json: hub.secret is not a known field (set HAPPEN_SECRET in the environment instead: the file is committed)'],
    [{ mesh: 'a', nodez: [] }, 'happen.config.json: nodez is not a known field'],
    [{ hub: { prot: 1 } }, 'happen.config.json: hub.prot is not a known field'],
    [{ nodes: 'src/nodes/*.ts' }, 'happen.config.json: nodes must be a list of paths or globs (got "src/nodes/*.ts")'],
    [{ nodes: ['src/a.ts', 'notes.txt'] }, 'happen.config.json: nodes.1 must be a path or glob of .ts, .mts, .js or .mjs files (got "notes.txt")'],
    [{ nodes: [7] }, 'happen.config.json: nodes.0 must be a path or glob of .ts, .mts, .js or .mjs files (got 7)'],
    [{ storage: { kind: 'sql' } }, 'happen.config.json: storage.kind must be "memory" or "deno-kv" (got "sql")'],
    [{ storage: {} }, 'happen.config.json: storage.kind must be "memory" or "deno-kv" (got undefined)'],
    [{ storage: { kind: 'memory', maxBytes: 0 } }, 'happen.config.json: storage.maxBytes must be a positive integer (bytes) (got 0)'],
    [{ storage: { kind: 'memory', path: 'x' } }, 'happen.config.json: storage.path is not a known field'],
    [{ storage: { kind: 'deno-kv', path: '' } }, 'happen.config.json: storage.path must be a non-empty path (got "")'],
    [{ observability: { metrics: 'yes' } }, 'happen.config.json: observability.metrics must be true or false (got "yes")'],
    [{ observability: { samplingRate: 2 } }, 'happen.config.json: observability.samplingRate must be a number from 0 to 1 (got 2)'],
    [{ observability: { otlpEndpoint: 'grpc://collector' } }, 'happen.config.json: observability.otlpEndpoint must be an http:// or https:// URL (got "grpc://collector")'],
    [[], 'happen.config.json must contain a JSON object'],
    ['mesh', 'happen.config.json must contain a JSON object'],
  ])('%j is refused, naming the field', (raw, message) => {
    expect(problem(raw)).toBe(message);
  });

  test('several problems: the first is named and the rest counted', () => {
    expect(problem({ mesh: '', hub: { port: 'x' }, nodes: 1 })).toMatch(/^happen\.config\.json: mesh must be .* \(got ""\) \(and 2 more problems\)$/);
  });

  test.each([
    [{ HAPPEN_HUB_PORT: 'abc' }, 'HAPPEN_HUB_PORT must be an integer between 0 and 65535 (0 picks a free port) (got "abc")'],
    [{ HAPPEN_HUB_PORT: '' }, 'HAPPEN_HUB_PORT must be an integer between 0 and 65535 (0 picks a free port) (got "")'],
    [{ HAPPEN_HUB_PORT: '99999' }, 'HAPPEN_HUB_PORT must be an integer between 0 and 65535 (0 picks a free port) (got 99999)'],
    [{ HAPPEN_MESH: 'no spaces please' }, 'HAPPEN_MESH must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit (got "no spaces please")'],
    [{ HAPPEN_HUB_URL: 'hub:8787' }, 'HAPPEN_HUB_URL must be an http://, https://, ws:// or wss:// URL (got "hub:8787")'],
    [{ HAPPEN_SECRET: '' }, 'HAPPEN_SECRET must not be empty (got "")'],
  ])('environment %j is refused, naming the variable', (env, message) => {
    let caught: unknown;
    try {
      parseConfig({}, env);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'INVALID_ENV', message, details: { field: Object.keys(env)[0] } });
  });

  test('the file is found in the working directory or a parent, or where HAPPEN_CONFIG says', async () => {
    const project = join(tmp, 'found');
    await mkdir(join(project, 'src', 'deep'), { recursive: true });
    await writeFile(join(project, 'happen.config.json'), JSON.stringify({ mesh: 'found', hub: { port: 9001 } }));
    const loaded = loadConfig({ cwd: join(project, 'src', 'deep'), env: {} }, { required: true });
    expect(loaded).toMatchObject({ file: join(project, 'happen.config.json'), root: project, hubUrl: 'http://127.0.0.1:9001', config: { mesh: 'found' } });
    expect(loadConfig({ cwd: project, env: { HAPPEN_HUB_URL: 'wss://far.example' } }).hubUrl).toBe('wss://far.example');

    await writeFile(join(tmp, 'other.json'), JSON.stringify({ mesh: 'other' }));
    expect(loadConfig({ cwd: project, env: { HAPPEN_CONFIG: '../other.json' } }).config.mesh).toBe('other');
    expect(() => findConfigFile(project, { HAPPEN_CONFIG: 'missing.json' })).toThrow(/HAPPEN_CONFIG names .*missing\.json, which does not exist/);

    const empty = await mkdtemp(join(tmpdir(), 'happen-config-none-'));
    try {
      expect(loadConfig({ cwd: empty, env: {} })).toMatchObject({ file: undefined, root: empty, config: { mesh: 'default' } });
      expect(() => loadConfig({ cwd: empty, env: {} }, { required: true })).toThrow(/no happen\.config\.json in .* \(create a project with: happen init\)/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  test('a file that is not JSON is refused with the line and column; errors name the file as found from the working directory', async () => {
    const project = join(tmp, 'syntax');
    await mkdir(join(project, 'sub'), { recursive: true });
    await writeFile(join(project, 'happen.config.json'), '{\n  "mesh": "a",\n  hub: {}\n}\n');
    expect(() => loadConfig({ cwd: project, env: {} })).toThrow('happen.config.json: not valid JSON at line 3, column 3 (Expected double-quoted property name)');
    await writeFile(join(project, 'happen.config.json'), JSON.stringify({ hub: { port: 'x' } }));
    expect(() => loadConfig({ cwd: join(project, 'sub'), env: {} })).toThrow(/^\.\.\/happen\.config\.json: hub\.port must be/);
  });

  test('nodes: paths and globs (*, ?, **) resolve to files; a listed path that is missing is an error', async () => {
    const project = join(tmp, 'globs');
    for (const dir of ['src/nodes/admin', 'lib', 'node_modules/pkg', 'src/.hidden']) await mkdir(join(project, dir), { recursive: true });
    for (const file of ['src/nodes/a.ts', 'src/nodes/b.ts', 'src/nodes/readme.md', 'src/nodes/admin/c.ts', 'lib/d1.mjs', 'lib/d22.mjs', 'node_modules/pkg/x.ts', 'src/.hidden/h.ts']) {
      await writeFile(join(project, file), '');
    }
    const files = (nodes: string[]) => resolveNodeFiles({ root: project, config: parseConfig({ nodes }) }).map((f) => f.slice(project.length + 1));
    expect(files(['src/nodes/*.ts'])).toEqual(['src/nodes/a.ts', 'src/nodes/b.ts']);
    expect(files(['src/**/*.ts'])).toEqual(['src/nodes/a.ts', 'src/nodes/admin/c.ts', 'src/nodes/b.ts']);
    expect(files(['**/*.ts'])).toEqual(['src/nodes/a.ts', 'src/nodes/admin/c.ts', 'src/nodes/b.ts']); // not node_modules or hidden directories
    expect(files(['lib/d?.mjs', './src/nodes/a.ts', 'src/nodes/a.ts'])).toEqual(['lib/d1.mjs', 'src/nodes/a.ts']);
    expect(files(['src/none/*.ts'])).toEqual([]);
    expect(() => files(['src/nodes/gone.ts'])).toThrow('happen.config.json: nodes lists src/nodes/gone.ts, which does not exist');

    expect(nodesCover(['src/nodes/*.ts'], 'src/nodes/x.ts')).toBe(true);
    expect(nodesCover(['src/nodes/*.ts'], 'src/nodes/admin/x.ts')).toBe(false);
    expect(nodesCover(['src/**/*.ts'], 'src/nodes/x.ts')).toBe(true);
    expect(nodesCover(['src/**'], 'src/nodes/x.ts')).toBe(true);
    expect(nodesCover(['./src/nodes/x.ts'], 'src/nodes/x.ts')).toBe(true);
    expect(nodesCover(['src/nodes/hello.ts'], 'src/nodes/x.ts')).toBe(false);
    expect(nodesCover(['src/nodes/x?ts'], 'src/nodes/x.ts')).toBe(true);
    expect(nodesCover(['src/nodes/x.ts'], 'src/nodes/xats')).toBe(false); // "." is literal
  });
});

describe('[node] cli arguments', () => {
  test('parseArgs with typed values, --json everywhere, and usage errors that name the argument', () => {
    const spec = { name: { type: 'string' }, force: { type: 'boolean', short: 'f' } } as const;
    expect(parseCommand(['dir', '--name', 'x', '-f', '--json'], spec, 1)).toMatchObject({ values: { name: 'x', force: true, json: true }, positionals: ['dir'] });
    expect(() => parseCommand(['a', 'b'], spec, 1)).toThrow('unexpected argument "b"');
    expect(() => parseCommand(['--nope'], spec)).toThrow('unknown option --nope');
    expect(() => parseCommand(['--name'], spec)).toThrow('--name needs a value');
    expect(() => parseCommand(['--force=yes'], spec)).toThrow('--force takes no value');
    try {
      parseCommand(['--nope'], spec);
    } catch (error) {
      expect(error).toMatchObject({ code: 'USAGE', exitCode: 2 });
    }
    expect(oneOf('template', 'db', ['api', 'db'])).toBe('db');
    expect(() => oneOf('template', 'x', ['api', 'db'])).toThrow('--template must be one of api, db (got "x")');
    expect(integer('port', '8080', 0, 65535)).toBe(8080);
    expect(() => integer('port', '80x', 0, 65535)).toThrow('--port must be an integer between 0 and 65535 (got "80x")');
    expect(wantsHelp(['x', '-h'])).toBe(true);
    expect(wantsHelp(['--', '--help'])).toBe(false); // after --, it is an argument
    expect(wantsJson(['init', '--json'])).toBe(true);
  });
});

/** A stream that records what is written; `tty` makes it look like a terminal. */
function recorder(tty = false): TextStream & { text: string } {
  const stream = { text: '', isTTY: tty, write: (chunk: string) => void (stream.text += chunk) };
  return stream;
}

describe('[node] cli output', () => {
  test('a spinner and a progress bar print plain lines when stderr is not a TTY', () => {
    const stdout = recorder();
    const stderr = recorder(false);
    const out = createOutput({ stdout, stderr, env: {} }, false);
    const spinner = out.spinner('Replaying the log');
    spinner.update('Replaying the log (half way)');
    spinner.succeed('Replayed 40 events');
    const bar = out.progress('export', 40);
    for (let i = 0; i < 40; i++) bar.tick();
    bar.done();
    out.spinner('Connecting').fail();
    expect(stderr.text).toBe(
      [
        'Replaying the log ...',
        'Replayed 40 events',
        'export: 0/40',
        ...[4, 8, 12, 16, 20, 24, 28, 32, 36].map((n) => `export: ${n}/40 (${n * 2.5}%)`),
        'export: 40/40 done',
        'Connecting ...',
        'Connecting: failed',
        '',
      ].join('\n'),
    );
    expect(stderr.text).not.toMatch(/[\r\x1b]/);
    expect(stdout.text).toBe(''); // progress never goes to stdout
  });

  test('on a terminal they redraw one line; TERM=dumb counts as no terminal', () => {
    const stderr = recorder(true);
    const out = createOutput({ stdout: recorder(), stderr, env: {} }, false);
    const spinner = out.spinner('Working');
    spinner.succeed('Done');
    const bar = out.progress('replay', 4);
    bar.update(2);
    bar.done('replayed 4 events');
    expect(stderr.text).toContain('\r\x1b[2K⠋ Working');
    expect(stderr.text).toContain('\r\x1b[2K✓ Done\n');
    expect(stderr.text).toContain('replay [░░░░░░░░░░░░░░░░░░░░░░░░] 0% 0/4');
    expect(stderr.text).toMatch(/\r\x1b\[2Kreplayed 4 events\n$/);

    const dumb = recorder(true);
    createOutput({ stdout: recorder(), stderr: dumb, env: { TERM: 'dumb' } }, false).spinner('Working').succeed();
    expect(dumb.text).toBe('Working ...\nWorking: done\n');
  });

  test('with --json: stdout holds exactly one JSON document, progress is plain lines on stderr, errors are JSON with a code', () => {
    const stdout = recorder();
    const stderr = recorder(true); // a terminal, yet no animation: a script is reading
    const out = createOutput({ stdout, stderr, env: {} }, true);
    out.info('not for scripts');
    out.spinner('Working').succeed();
    const bar = out.progress('replay', 10);
    bar.tick(10);
    bar.done();
    out.result({ replayed: 10 }, 'Replayed 10 events');
    expect(JSON.parse(stdout.text)).toEqual({ replayed: 10 });
    expect(stderr.text).toBe('Working ...\nWorking: done\nreplay: 0/10\nreplay: 10/10 done\n');
    expect(() => out.result({ again: true })).toThrow(/twice/);

    const errors = recorder();
    expect(reportError({ stderr: errors, env: {} }, 'replay', new CliError('NO_LOG', 'no log at x', 1, { path: 'x' }), true)).toBe(1);
    expect(errors.text.split('\n')).toHaveLength(2); // one line
    expect(JSON.parse(errors.text)).toEqual({ error: { code: 'NO_LOG', category: 'validation', message: 'no log at x', details: { path: 'x' } } });
  });

  test('human errors are one line; usage errors point at the help and exit 2; unexpected errors exit 1', () => {
    const stderr = recorder();
    expect(reportError({ stderr, env: {} }, 'init', usageError('bad'), false)).toBe(2);
    expect(reportError({ stderr, env: {} }, 'tail', new Error('socket hang up\n    at stack'), false)).toBe(1);
    expect(reportError({ stderr, env: {} }, undefined, new CliError('X', 'plain'), false)).toBe(1);
    expect(stderr.text).toBe('happen init: bad (see: happen init --help)\nhappen tail: socket hang up\nhappen: plain\n');
  });
});
