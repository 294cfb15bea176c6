/**
 * A project's settings: `happen.config.json` (found in the working directory or the nearest parent)
 * overridden by environment variables, validated with valibot, with defaults for what is left out.
 * An error names the file or variable and the field at fault, e.g.
 * `happen.config.json: hub.port must be an integer between 0 and 65535 (got "abc")`.
 *
 * | field | env | default | meaning |
 * |---|---|---|---|
 * | `mesh` | `HAPPEN_MESH` | `"default"` | the mesh the project's nodes and hub meet in: 1-128 letters, digits, `.`, `_`, `-`, starting with a letter or digit (the hub's rule) |
 * | `hub.port` | `HAPPEN_HUB_PORT` | `8787` | the local hub's port; `0` picks a free one |
 * | `hub.hostname` | `HAPPEN_HUB_HOSTNAME` | `"127.0.0.1"` | the interface the local hub listens on (a development hub is not exposed unless asked) |
 * | `hub.url` | `HAPPEN_HUB_URL` | — | a running hub (`http(s)://` or `ws(s)://`) that `tail`, `inspect`, `status` talk to instead of the local one |
 * | — | `HAPPEN_SECRET` | — | the hub's admission-token secret; from the environment only, since the file is committed |
 * | `nodes` | — | `["src/nodes/*.ts"]` | node modules, as paths or globs (`*`, `?`, `**`) relative to the file; each module's default export is `(happen: Happen) => HappenNode \| Promise<HappenNode>` |
 * | `storage.kind` | — | `"memory"` | where hubs keep the mesh's durable log: `memory` (Node; `storage.maxBytes` caps it) or `deno-kv` (the Deno hub; `storage.path`, default `.happen/hub.kv`) |
 * | `observability.metrics` | — | `true` | count events per node and type; the hub serves them as Prometheus text |
 * | `observability.dashboard` | — | `true` | serve the dashboard from the local hub |
 * | `observability.samplingRate` | — | `1` | the share of traces sampled, 0 to 1 (`observability({ samplingRate })`) |
 * | `observability.otlpEndpoint` | — | — | an OTLP/HTTP collector to export traces to: its base URL, `/v1/traces` appended unless the path ends with it |
 *
 * `HAPPEN_CONFIG` names the file to read instead of searching for it. `$schema` is allowed and ignored.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import * as v from 'valibot';
import type { HappenNode } from '../core/node-api.ts';
import type { Happen } from '../core/system-api.ts';
import { CliError } from './output.ts';

/** What each module listed in `nodes` exports as its default: creates its node in the given system. */
export type NodeSetup = (happen: Happen) => HappenNode | Promise<HappenNode>;

/** The file a project keeps its settings in. */
export const CONFIG_FILE = 'happen.config.json';

/** A project's settings after defaults and environment overrides. */
export interface ProjectConfig {
  mesh: string;
  hub: {
    port: number;
    hostname: string;
    /** A running hub to talk to instead of the local one. */
    url: string | undefined;
    /** From `HAPPEN_SECRET` only. */
    secret: string | undefined;
  };
  /** Paths or globs of node modules, relative to the config file's directory. */
  nodes: string[];
  storage: { kind: 'memory'; maxBytes: number | undefined } | { kind: 'deno-kv'; path: string };
  observability: { metrics: boolean; dashboard: boolean; samplingRate: number; otlpEndpoint: string | undefined };
}

/** What {@link loadConfig} found. */
export interface LoadedConfig {
  config: ProjectConfig;
  /** The absolute path of the file read, if there was one. */
  file: string | undefined;
  /** The project's root: the config file's directory, or the working directory without one. */
  root: string;
  /** The URL clients reach the hub at: `hub.url`, else `http://<hostname>:<port>`. */
  hubUrl: string;
}

const MESH = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const NODE_FILE = /\.(ts|mts|js|mjs)$/;
const MAX_PORT = 65535;

const messages = {
  mesh: 'must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit',
  port: `must be an integer between 0 and ${MAX_PORT} (0 picks a free port)`,
  hostname: 'must be a non-empty host name or IP address',
  url: 'must be an http://, https://, ws:// or wss:// URL',
  nodes: 'must be a list of paths or globs',
  node: 'must be a path or glob of .ts, .mts, .js or .mjs files',
  kind: 'must be "memory" or "deno-kv"',
  maxBytes: 'must be a positive integer (bytes)',
  path: 'must be a non-empty path',
  boolean: 'must be true or false',
  samplingRate: 'must be a number from 0 to 1',
  otlp: 'must be an http:// or https:// URL',
  object: 'must be an object',
} as const;

const isUrl = (schemes: string[]) => (value: string) => {
  try {
    return schemes.includes(new URL(value).protocol);
  } catch {
    return false;
  }
};

const port = v.pipe(v.number(messages.port), v.integer(messages.port), v.minValue(0, messages.port), v.maxValue(MAX_PORT, messages.port));
const hubUrl = v.pipe(v.string(messages.url), v.check(isUrl(['http:', 'https:', 'ws:', 'wss:']), messages.url));
const meshName = v.pipe(v.string(messages.mesh), v.regex(MESH, messages.mesh));
const hostname = v.pipe(v.string(messages.hostname), v.minLength(1, messages.hostname), v.regex(/^[^\s/]+$/, messages.hostname));
const flag = v.boolean(messages.boolean);

/** The file's schema: strict objects, so a misspelt field is an error instead of silently ignored. */
const FileSchema = v.strictObject(
  {
    $schema: v.optional(v.string()),
    mesh: v.optional(meshName),
    hub: v.optional(v.strictObject({ port: v.optional(port), hostname: v.optional(hostname), url: v.optional(hubUrl) }, messages.object)),
    nodes: v.optional(v.array(v.pipe(v.string(messages.node), v.minLength(1, messages.node), v.regex(NODE_FILE, messages.node)), messages.nodes)),
    storage: v.optional(
      v.variant(
        'kind',
        [
          v.strictObject({ kind: v.literal('memory'), maxBytes: v.optional(v.pipe(v.number(messages.maxBytes), v.integer(messages.maxBytes), v.minValue(1, messages.maxBytes))) }, messages.object),
          v.strictObject({ kind: v.literal('deno-kv'), path: v.optional(v.pipe(v.string(messages.path), v.minLength(1, messages.path))) }, messages.object),
        ],
        messages.kind,
      ),
    ),
    observability: v.optional(
      v.strictObject(
        {
          metrics: v.optional(flag),
          dashboard: v.optional(flag),
          samplingRate: v.optional(v.pipe(v.number(messages.samplingRate), v.minValue(0, messages.samplingRate), v.maxValue(1, messages.samplingRate))),
          otlpEndpoint: v.optional(v.pipe(v.string(messages.otlp), v.check(isUrl(['http:', 'https:']), messages.otlp))),
        },
        messages.object,
      ),
    ),
  },
  'must contain a JSON object',
);

const envPort = v.pipe(v.string(), v.regex(/^\d+$/, messages.port), v.transform(Number), v.maxValue(MAX_PORT, messages.port));

/** The environment's schema: every variable is a string, checked like the field it overrides. */
const EnvSchema = v.object({
  HAPPEN_MESH: v.optional(meshName),
  HAPPEN_HUB_PORT: v.optional(envPort),
  HAPPEN_HUB_HOSTNAME: v.optional(hostname),
  HAPPEN_HUB_URL: v.optional(hubUrl),
  HAPPEN_SECRET: v.optional(v.pipe(v.string(), v.minLength(1, 'must not be empty'))),
});

/** The field names the file may not hold, with where they belong instead. */
const MISPLACED: Record<string, string> = {
  'hub.secret': 'set HAPPEN_SECRET in the environment instead: the file is committed',
};

/**
 * Validates a parsed config file and the environment and applies defaults. `source` names the file
 * in errors. Throws a `CliError` (`INVALID_CONFIG`, or `INVALID_ENV` for a variable) naming the field.
 */
export function parseConfig(raw: unknown, env: Record<string, string | undefined> = {}, source = CONFIG_FILE): ProjectConfig {
  // valibot's objects accept arrays (they are objects); a config never is one.
  if (Array.isArray(raw)) throw new CliError('INVALID_CONFIG', `${source} must contain a JSON object`, 1, { field: '', issues: [] });
  const file = v.safeParse(FileSchema, raw);
  if (!file.success) throw invalid('INVALID_CONFIG', `${source}: `, file.issues, (path) => path.join('.'));
  const vars = v.safeParse(EnvSchema, pickEnv(env));
  if (!vars.success) throw invalid('INVALID_ENV', '', vars.issues, (path) => path[0] ?? 'environment');
  const f = file.output;
  const e = vars.output;
  const storage: ProjectConfig['storage'] =
    f.storage?.kind === 'deno-kv' ? { kind: 'deno-kv', path: f.storage.path ?? '.happen/hub.kv' } : { kind: 'memory', maxBytes: f.storage?.maxBytes };
  return {
    mesh: e.HAPPEN_MESH ?? f.mesh ?? 'default',
    hub: {
      port: e.HAPPEN_HUB_PORT ?? f.hub?.port ?? 8787,
      hostname: e.HAPPEN_HUB_HOSTNAME ?? f.hub?.hostname ?? '127.0.0.1',
      url: e.HAPPEN_HUB_URL ?? f.hub?.url,
      secret: e.HAPPEN_SECRET,
    },
    nodes: f.nodes ?? ['src/nodes/*.ts'],
    storage,
    observability: {
      metrics: f.observability?.metrics ?? true,
      dashboard: f.observability?.dashboard ?? true,
      samplingRate: f.observability?.samplingRate ?? 1,
      otlpEndpoint: f.observability?.otlpEndpoint,
    },
  };
}

/** The config file for `cwd`: `HAPPEN_CONFIG` when set, else `happen.config.json` here or in the nearest parent. */
export function findConfigFile(cwd: string, env: Record<string, string | undefined> = {}): string | undefined {
  if (env.HAPPEN_CONFIG) {
    const file = resolve(cwd, env.HAPPEN_CONFIG);
    if (!existsSync(file)) throw new CliError('NO_CONFIG', `HAPPEN_CONFIG names ${file}, which does not exist`);
    return file;
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = join(dir, CONFIG_FILE);
    if (existsSync(file)) return file;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Reads and validates the project's config. With `required`, a missing file is a `NO_CONFIG` error
 * (run `happen init`); without, the defaults apply with the working directory as the root.
 */
export function loadConfig(io: { cwd: string; env: Record<string, string | undefined> }, options: { required?: boolean } = {}): LoadedConfig {
  const file = findConfigFile(io.cwd, io.env);
  if (file === undefined && options.required) {
    throw new CliError('NO_CONFIG', `no ${CONFIG_FILE} in ${io.cwd} or its parents (create a project with: happen init)`);
  }
  const source = file === undefined ? CONFIG_FILE : relative(io.cwd, file) || file;
  const config = parseConfig(file === undefined ? {} : readConfigJson(file, source), io.env, source);
  const root = file === undefined ? resolve(io.cwd) : dirname(file);
  return { config, file, root, hubUrl: config.hub.url ?? `http://${config.hub.hostname}:${config.hub.port}` };
}

/** Reads a config file as JSON; a syntax error names the line and column. */
export function readConfigJson(file: string, source = file): unknown {
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const at = /position (\d+)/.exec(message);
    const where = at ? ` at ${lineColumn(text, Number(at[1]))}` : '';
    throw new CliError('INVALID_CONFIG', `${source}: not valid JSON${where} (${message.replace(/\s*in JSON at position \d+.*$/s, '')})`);
  }
}

/**
 * The node module files the config lists, as absolute paths: each entry a path or a glob (`*` and
 * `?` within a segment, `**` for any depth), relative to the root. Sorted, without duplicates; a
 * plain path that does not exist is a `NODE_NOT_FOUND` error naming it.
 */
export function resolveNodeFiles(loaded: Pick<LoadedConfig, 'config' | 'root'>): string[] {
  const found = new Set<string>();
  for (const entry of loaded.config.nodes) {
    if (!/[*?]/.test(entry)) {
      const file = resolve(loaded.root, entry);
      if (!existsSync(file)) throw new CliError('NODE_NOT_FOUND', `${CONFIG_FILE}: nodes lists ${entry}, which does not exist`);
      found.add(file);
      continue;
    }
    for (const file of expandGlob(loaded.root, entry)) found.add(file);
  }
  return [...found].sort();
}

/** Whether a config `nodes` entry (path or glob) covers `file` (relative to the root, `/`-separated). */
export function nodesCover(entries: readonly string[], file: string): boolean {
  return entries.some((entry) => globRegExp(normalise(entry)).test(normalise(file)));
}

function expandGlob(root: string, pattern: string): string[] {
  const segments = normalise(pattern).split('/').filter((segment, i) => segment !== '' || i !== 0);
  const base = isAbsolute(pattern) ? sep : root;
  const out: string[] = [];
  const walk = (dir: string, i: number): void => {
    if (i === segments.length) return;
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '**') {
      walk(dir, i + 1); // zero directories
      for (const child of subdirectories(dir)) walk(join(dir, child), i); // or one more
      return;
    }
    if (!/[*?]/.test(segment)) {
      const path = join(dir, segment);
      if (last ? isFile(path) : isDirectory(path)) (last ? out.push(path) : walk(path, i + 1));
      return;
    }
    const matcher = segmentRegExp(segment);
    for (const entry of entries(dir)) {
      if (!matcher.test(entry)) continue;
      const path = join(dir, entry);
      if (last ? isFile(path) : isDirectory(path)) (last ? out.push(path) : walk(path, i + 1));
    }
  };
  walk(base, 0);
  return out;
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

// `**` never descends into dependencies or hidden directories: a glob over src/ should not crawl node_modules.
function subdirectories(dir: string): string[] {
  return entries(dir).filter((name) => name !== 'node_modules' && !name.startsWith('.') && isDirectory(join(dir, name)));
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function normalise(path: string): string {
  return path.replaceAll('\\', '/').replace(/^\.\//, '');
}

function escape(text: string): string {
  return text.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

function segmentBody(segment: string): string {
  return escape(segment).replaceAll('*', '[^/]*').replaceAll('?', '[^/]');
}

function segmentRegExp(segment: string): RegExp {
  return new RegExp(`^${segmentBody(segment)}$`);
}

function globRegExp(pattern: string): RegExp {
  const segments = pattern.split('/');
  let body = '';
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '**') body += last ? '.*' : '(?:[^/]+/)*';
    else body += segmentBody(segment) + (last ? '' : '/');
  });
  return new RegExp(`^${body}$`);
}

function pickEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.entries)) {
    const value = env[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

type Issue = v.BaseIssue<unknown>;

function invalid(code: string, prefix: string, issues: [Issue, ...Issue[]], name: (path: string[]) => string): CliError {
  const issue = issues[0];
  const path = (issue.path ?? []).map((item) => String(item.key));
  const field = name(path);
  const listed = issues.map((i) => ({ field: name((i.path ?? []).map((p) => String(p.key))), message: i.message }));
  // A value can break several rules of one field (empty and malformed): count the other fields at fault.
  const others = new Set(listed.map((i) => i.field).filter((f) => f !== field)).size;
  const more = others > 0 ? ` (and ${others} more problem${others > 1 ? 's' : ''})` : '';
  const details = { field, issues: listed };
  if (path.length === 0) return new CliError(code, `${prefix.replace(/: $/, '')} ${issue.message}${more}`, 1, details);
  // A key the schema does not know: say so (and where it belongs, when it is a known mistake).
  if (issue.type === 'strict_object' && issue.expected === 'never') {
    const hint = MISPLACED[field];
    return new CliError(code, `${prefix}${field} is not a known field${hint ? ` (${hint})` : ''}${more}`, 1, details);
  }
  if (issue.input === undefined && issue.type !== 'variant') return new CliError(code, `${prefix}${field} is required${more}`, 1, details);
  return new CliError(code, `${prefix}${field} ${issue.message} (got ${show(issue.input)})${more}`, 1, details);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function lineColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return `line ${line}, column ${position - before.lastIndexOf('\n')}`;
}
