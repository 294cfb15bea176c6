/**
 * Loading a project's node modules, which are usually TypeScript. Node 20 cannot import `.ts` on its
 * own, so the CLI uses tsx (a devDependency of every project `happen init` writes): found from the
 * CLI's own install first, then from the project, and loaded with `--import` in child processes
 * (`happen dev`) or imported into this process, which registers its hooks (`happen replay`).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { NodeSetup } from './config.ts';
import { CliError } from './output.ts';

/** Whether a module needs a TypeScript loader. */
export function isTypeScript(file: string): boolean {
  return /\.[mc]?ts$/.test(file);
}

/** Whether this process already runs TypeScript: the CLI itself runs from its `.ts` sources (under tsx). */
export const runningTypeScript = import.meta.url.endsWith('.ts');

/**
 * The file URL of tsx's loader (what `node --import tsx` loads), resolved from the CLI's install,
 * then from the project root; `undefined` when neither reaches tsx.
 */
export function findTsx(root: string): string | undefined {
  for (const base of [fileURLToPath(import.meta.url), join(root, 'package.json')]) {
    try {
      return pathToFileURL(createRequire(base).resolve('tsx')).href;
    } catch {
      // Not reachable from here: try the next place.
    }
  }
  return undefined;
}

/** The error for a TypeScript module without tsx to load it. */
export function noTsLoader(file: string): CliError {
  return new CliError('NO_TS_LOADER', `${file} is TypeScript and tsx was not found to load it: install it in the project (npm i -D tsx)`, 1, { file });
}

/** The tsx loader URL `files` need (`undefined` when none is TypeScript); throws `NO_TS_LOADER` when one is and tsx is missing. */
export function loaderFor(files: readonly string[], root: string): string | undefined {
  const ts = files.find(isTypeScript);
  if (ts === undefined) return undefined;
  const tsx = findTsx(root);
  if (tsx === undefined) throw noTsLoader(ts);
  return tsx;
}

/** Imports a node module into this process (registering tsx first when it is TypeScript) and returns its setup function. */
export async function importNodeModule(file: string, root: string): Promise<NodeSetup> {
  if (isTypeScript(file) && !runningTypeScript) {
    const tsx = findTsx(root);
    if (tsx === undefined) throw noTsLoader(file);
    await import(tsx); // importing tsx's loader registers its hooks for what this process imports next
  }
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CliError('NODE_MODULE_FAILED', `${file} could not be loaded: ${message.split('\n', 1)[0]}`, 1, { file }, 'runtime');
  }
  return setupOf(loaded, file);
}

/** The default export of a loaded node module, checked to be a setup function. */
export function setupOf(loaded: { default?: unknown }, file: string): NodeSetup {
  if (typeof loaded.default !== 'function') {
    throw new CliError('NODE_MODULE_INVALID', `${file} must export a default function (happen) => node; it exports ${typeof loaded.default === 'undefined' ? 'no default' : `a default ${typeof loaded.default}`}`, 1, { file });
  }
  return loaded.default as NodeSetup;
}
