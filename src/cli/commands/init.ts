/**
 * `happen init [dir] [--name N] [--force] [--json]`: creates a project — package.json,
 * happen.config.json, tsconfig.json, an example node and its test, and the deploy templates for
 * Cloudflare, Deno and a container. Refuses a directory that is not empty unless `--force` (which
 * overwrites the files it writes and leaves every other file alone).
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseCommand, type Command } from '../args.ts';
import { CliError, createOutput, usageError } from '../output.ts';
import { cloudflareFiles } from '../templates/deploy/cloudflare.ts';
import { containerFiles } from '../templates/deploy/container.ts';
import { denoFiles } from '../templates/deploy/deno.ts';
import type { TemplateFile } from '../templates/files.ts';
import { PACKAGE_NAME, packageNameFrom } from '../templates/naming.ts';
import { configFile, exampleNode, packageJson, projectDocs, tsconfig } from '../templates/project.ts';

/** Every file of a new project called `name`, in the order they are written. */
export function projectFiles(name: string): TemplateFile[] {
  const names = { name };
  return [
    packageJson(names),
    configFile(names),
    tsconfig(),
    ...exampleNode(),
    ...projectDocs(names),
    ...cloudflareFiles(names),
    ...denoFiles(),
    ...containerFiles(names),
  ];
}

// A fresh `git init` is still an empty project.
const IGNORED_ENTRIES = new Set(['.git']);

export const init: Command = {
  name: 'init',
  summary: 'create a project: config, an example node, deploy templates (Cloudflare, Deno, container)',
  usage: `Usage: happen init [dir] [--name <name>] [--force] [--json]

Creates a Happen project in dir (default: the current directory):
  package.json, happen.config.json, tsconfig.json, src/nodes/hello.ts, test/hello.test.ts,
  deploy/cloudflare/ (wrangler.toml + Worker), deno.json + deploy/deno/, deploy/container/ (Dockerfile)

Options:
  --name <name>  package and mesh name (default: the directory's name, made lower case)
  --force        write into a directory that is not empty (overwrites only the files listed above)
  --json         print {"dir", "name", "files"} instead of the next steps`,
  run(args, io) {
    const { values, positionals } = parseCommand(args, { name: { type: 'string' }, force: { type: 'boolean' } }, 1);
    const out = createOutput(io, values.json === true);
    const dir = resolve(io.cwd, positionals[0] ?? '.');
    const name = values.name ?? packageNameFrom(basename(dir));
    if (!PACKAGE_NAME.test(name)) {
      throw usageError(`--name must be a package name: lower-case letters, digits, ".", "_" or "-", starting with a letter or digit (got ${JSON.stringify(name)})`);
    }
    const existing = entriesOf(dir);
    if (existing.length > 0 && !values.force) {
      const shown = existing.slice(0, 3).join(', ') + (existing.length > 3 ? ', ...' : '');
      throw new CliError('DIR_NOT_EMPTY', `${dir} is not empty (${shown}); use --force to write into it anyway`, 1, { dir, entries: existing });
    }
    const files = projectFiles(name);
    for (const file of files) {
      const path = join(dir, file.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.content);
    }
    const shownDir = relative(io.cwd, dir) || '.';
    out.result(
      { dir, name, files: files.map((f) => f.path) },
      [
        `Created ${name} in ${shownDir} (${files.length} files).`,
        '',
        'Next steps:',
        ...(shownDir === '.' ? [] : [`  cd ${shownDir}`]),
        '  npm install',
        '  npx happen dev                                 # local hub + dashboard, runs src/nodes/',
        '  npx happen create-node orders --template api   # or db, webhook, agent, browser',
        '  npm test',
        '',
        'Deploy the hub: npm run deploy:cloudflare | deno task hub | npm run build:container',
      ].join('\n'),
    );
    return 0;
  },
};

function entriesOf(dir: string): string[] {
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (stat === undefined) return [];
  if (!stat.isDirectory()) throw new CliError('NOT_A_DIRECTORY', `${dir} exists and is not a directory`);
  return readdirSync(dir).filter((entry) => !IGNORED_ENTRIES.has(entry)).sort();
}
