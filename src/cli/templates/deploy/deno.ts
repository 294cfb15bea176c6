/** The Deno deploy template: deno.json tasks (dev, hub, test) and their entries. */
import type { TemplateFile } from '../files.ts';

const config = `/**
 * happen.config.json as the Deno entries read it: the fields they use, with the same environment
 * overrides as the happen CLI (HAPPEN_MESH, HAPPEN_HUB_PORT, HAPPEN_HUB_HOSTNAME, HAPPEN_SECRET).
 * \`happen\` validates the whole file; this reads what it needs and refuses a bad port.
 */
export interface DenoSettings {
  mesh: string;
  port: number;
  hostname: string;
  secret: string | undefined;
  nodes: string[];
  storage: { kind: 'memory' } | { kind: 'deno-kv'; path: string };
}

/** The project root (where happen.config.json is). */
export const root = new URL('../../', import.meta.url);

/** Reads the settings. */
export async function readSettings(): Promise<DenoSettings> {
  const file = JSON.parse(await Deno.readTextFile(new URL('happen.config.json', root)));
  const env = (name: string) => Deno.env.get(name);
  const portText = String(env('HAPPEN_HUB_PORT') ?? file.hub?.port ?? 8787);
  if (!/^\\d+$/.test(portText) || Number(portText) > 65535) throw new Error('hub port must be an integer between 0 and 65535 (got ' + JSON.stringify(portText) + ')');
  return {
    mesh: env('HAPPEN_MESH') ?? file.mesh ?? 'default',
    port: Number(portText),
    hostname: env('HAPPEN_HUB_HOSTNAME') ?? file.hub?.hostname ?? '127.0.0.1',
    secret: env('HAPPEN_SECRET'),
    nodes: file.nodes ?? ['src/nodes/*.ts'],
    storage: file.storage?.kind === 'deno-kv' ? { kind: 'deno-kv', path: file.storage.path ?? '.happen/hub.kv' } : { kind: 'memory' },
  };
}

/** The node modules the settings list: paths, or globs with \`*\` / \`?\` in the file name (\`src/nodes/*.ts\`). */
export async function nodeFiles(entries: string[]): Promise<URL[]> {
  const found: URL[] = [];
  for (const entry of entries) {
    const slash = entry.lastIndexOf('/');
    const dir = entry.slice(0, slash + 1);
    const name = entry.slice(slash + 1);
    if (!/[*?]/.test(name)) {
      found.push(new URL(entry, root));
      continue;
    }
    const pattern = new RegExp('^' + name.replace(/[.+^$()|[\\]\\\\{}]/g, '\\\\$&').replaceAll('*', '.*').replaceAll('?', '.') + '$');
    const names: string[] = [];
    for await (const item of Deno.readDir(new URL(dir || './', root))) if (item.isFile && pattern.test(item.name)) names.push(item.name);
    for (const match of names.sort()) found.push(new URL(dir + match, root));
  }
  return found;
}
`;

const hub = `/**
 * The hub on Deno (\`deno task hub\`): happen/hub/deno with Deno.serve. With \`storage.kind: "deno-kv"\`
 * in happen.config.json the mesh's durable log lives in Deno KV at \`storage.path\`, so receivers
 * catch up even across a hub restart; otherwise it is kept in memory.
 */
import { serveHub } from 'happen/hub/deno';
import { openDenoKvStorage } from 'happen/storage/deno-kv';
import { readSettings, root } from './settings.ts';

const settings = await readSettings();
let storage;
if (settings.storage.kind === 'deno-kv') {
  const path = new URL(settings.storage.path, root).pathname;
  await Deno.mkdir(new URL('.', new URL(settings.storage.path, root)), { recursive: true });
  storage = await openDenoKvStorage(path);
}
const hub = await serveHub({ port: settings.port, hostname: settings.hostname, ...(settings.secret ? { secret: settings.secret } : {}), ...(storage ? { storage } : {}) });
console.log('happen hub listening on ' + hub.url + ' (mesh ' + settings.mesh + ': ' + hub.url + '/mesh/' + settings.mesh + '/ws)');

const stop = async () => {
  await hub.close();
  await storage?.close();
  Deno.exit(0);
};
Deno.addSignalListener('SIGINT', stop);
Deno.addSignalListener('SIGTERM', stop);
`;

const dev = `/**
 * Development on Deno (\`deno task dev\`, restarted by --watch on every change): a local hub and, in one
 * system meshed to it, every node module happen.config.json lists (each default export is called
 * with the system). Other programs join at the printed mesh URL. The local hub takes no secret.
 */
import { createHappen } from 'happen';
import { serveHub } from 'happen/hub/deno';
import { mesh } from 'happen/mesh';
import { websocket } from 'happen/transports/websocket';
import { nodeFiles, readSettings } from './settings.ts';

const settings = await readSettings();
const hub = await serveHub({ port: settings.port, hostname: settings.hostname });
const link = mesh({ transports: [websocket(hub.url + '/mesh/' + settings.mesh)] });
const happen = createHappen({ id: 'deno-dev', extensions: [link] });
for (const file of await nodeFiles(settings.nodes)) {
  const module = await import(file.href);
  if (typeof module.default !== 'function') throw new Error(file.pathname + ': the default export must be a function (happen) => node');
  await module.default(happen);
}
await link.ready;
console.log('happen dev: hub on ' + hub.url + ', mesh ' + settings.mesh + ' (' + hub.url + '/mesh/' + settings.mesh + '/ws), nodes: ' + happen.nodes().join(', '));

const stop = async () => {
  await link.close();
  await hub.close();
  Deno.exit(0);
};
Deno.addSignalListener('SIGINT', stop);
Deno.addSignalListener('SIGTERM', stop);
`;

const PERMISSIONS = '--allow-net --allow-env --allow-read';

/** deno.json and deploy/deno/. node_modules is used as npm installed it ("nodeModulesDir": "manual"): run npm install first. */
export function denoFiles(): TemplateFile[] {
  const denoJson = {
    nodeModulesDir: 'manual',
    tasks: {
      dev: `deno run ${PERMISSIONS} --watch deploy/deno/dev.ts`,
      hub: `deno run ${PERMISSIONS} --allow-write --unstable-kv deploy/deno/hub.ts`,
      test: 'deno test --allow-env --allow-read test/',
    },
    exclude: ['node_modules', '.wrangler', '.happen'],
  };
  return [
    { path: 'deno.json', content: `${JSON.stringify(denoJson, null, 2)}\n` },
    { path: 'deploy/deno/settings.ts', content: config },
    { path: 'deploy/deno/hub.ts', content: hub },
    { path: 'deploy/deno/dev.ts', content: dev },
  ];
}
