/** The files of a new project (`happen init`): package.json, config, tsconfig, an example node and its test. */
import { VERSION } from '../../version.ts';
import type { TemplateFile } from './files.ts';

/** What a project is made from. */
export interface ProjectNames {
  /** The package name, also the mesh name. */
  name: string;
}

/** The example node `init` writes, as listed in the config. */
export const EXAMPLE_NODE = 'src/nodes/hello.ts';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** The project's package.json: happen and valibot to run, TypeScript, tsx and wrangler to develop and deploy. */
export function packageJson({ name }: ProjectNames): TemplateFile {
  return {
    path: 'package.json',
    content: json({
      name,
      version: '0.1.0',
      private: true,
      type: 'module',
      scripts: {
        dev: 'happen dev',
        test: 'node --import tsx --test test/*.test.ts',
        typecheck: 'tsc --noEmit',
        hub: 'node deploy/container/hub.mjs',
        'deploy:cloudflare': 'wrangler deploy -c deploy/cloudflare/wrangler.toml',
        'build:container': `docker build -f deploy/container/Dockerfile -t ${name}-hub .`,
      },
      dependencies: { happen: `^${VERSION}`, valibot: '^1.5.0' },
      // Versions known to work together on Node 20 (wrangler is pinned: newer ones refuse Node 20).
      devDependencies: { '@types/node': '^20.19.43', tsx: '^4.23.15', typescript: '^7.0.2', wrangler: '4.86.0' },
    }),
  };
}

/** happen.config.json, with every section spelled out so it is easy to edit (see src/cli/config.ts for each field). */
export function configFile({ name }: ProjectNames): TemplateFile {
  return {
    path: 'happen.config.json',
    content: json({
      mesh: name,
      hub: { port: 8787, hostname: '127.0.0.1' },
      nodes: [EXAMPLE_NODE],
      storage: { kind: 'memory' },
      observability: { metrics: true, dashboard: true, samplingRate: 1 },
    }),
  };
}

/** tsconfig.json: strict, bundler resolution; no Node types in src/, so nodes stay runnable in browsers, Workers and Deno. */
export function tsconfig(): TemplateFile {
  return {
    path: 'tsconfig.json',
    content: json({
      compilerOptions: {
        target: 'ES2022',
        module: 'ESNext',
        moduleResolution: 'Bundler',
        lib: ['ES2022', 'DOM', 'DOM.Iterable'],
        strict: true,
        noUncheckedIndexedAccess: true,
        allowImportingTsExtensions: true,
        verbatimModuleSyntax: true,
        isolatedModules: true,
        skipLibCheck: true,
        noEmit: true,
        types: [],
      },
      include: ['src'],
    }),
  };
}

const helloNode = `/**
 * An example node. Nodes talk only through events: \`hello\` answers \`hello.greet\` with a greeting
 * and counts the greetings it gave. The payload schema (valibot) keeps bad requests out of the
 * handler: the sender gets a validation error instead. Add nodes with
 * \`happen create-node NAME --template api|db|webhook|agent|browser\`.
 *
 *   const { greeting } = await ui.send('hello', Greet.create({ name: 'Ada' })).return();
 */
import { defineEvent, type Happen, type HappenNode } from 'happen';
import * as v from 'valibot';

/** \`hello.greet\` → \`{ greeting, greeted }\`. */
export const Greet = defineEvent('hello.greet', v.object({ name: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(100)) }));

/** The node's state. */
export interface HelloState {
  greeted: number;
}

/** Creates the \`hello\` node in \`happen\` (what \`happen dev\` calls for each module in happen.config.json's nodes). */
export default function setup(happen: Happen): HappenNode<HelloState> {
  const node = happen.createNode<HelloState>('hello', { state: { greeted: 0 } });
  node.on(Greet, (event) => {
    const { greeted } = node.state.set((state) => ({ greeted: state.greeted + 1 }));
    return { greeting: 'Hello, ' + event.payload.name + '!', greeted };
  });
  return node;
}
`;

const helloTest = `// Runs in Node (npm test: node --import tsx --test) and in Deno (deno task test): node:test works in both.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHappen } from 'happen';
import setup, { Greet } from '../src/nodes/hello.ts';

test('hello greets by name and counts its greetings', async () => {
  const happen = createHappen();
  setup(happen);
  const ui = happen.createNode('ui');
  assert.deepEqual(await ui.send('hello', Greet.create({ name: 'Ada' })).return(), { greeting: 'Hello, Ada!', greeted: 1 });
  assert.deepEqual(await ui.send('hello', Greet.create({ name: ' Grace ' })).return(), { greeting: 'Hello, Grace!', greeted: 2 });
});

test('a bad request never reaches the handler', async () => {
  const happen = createHappen();
  setup(happen);
  const ui = happen.createNode('ui');
  await assert.rejects(ui.send('hello', { type: 'hello.greet', payload: { name: '' } }).return(), { code: 'INVALID_PAYLOAD' });
  assert.equal(happen.getNode('hello')?.state.get().greeted, 0);
});
`;

/** The example node and its test. */
export function exampleNode(): TemplateFile[] {
  return [
    { path: EXAMPLE_NODE, content: helloNode },
    { path: 'test/hello.test.ts', content: helloTest },
  ];
}

/** .gitignore and the README with the next steps. */
export function projectDocs({ name }: ProjectNames): TemplateFile[] {
  return [
    { path: '.gitignore', content: 'node_modules/\ndist/\n.wrangler/\n.happen/\n' },
    {
      path: 'README.md',
      content: `# ${name}

A [Happen](https://www.npmjs.com/package/happen) project: programs that talk only through events.

| | |
|---|---|
| \`src/nodes/\` | the nodes, one module each (default export \`(happen) => node\`), listed in \`happen.config.json\` |
| \`happen.config.json\` | mesh name, hub port, nodes, storage, observability (\`HAPPEN_MESH\`, \`HAPPEN_HUB_PORT\`, \`HAPPEN_HUB_URL\`, \`HAPPEN_SECRET\` override) |
| \`deploy/cloudflare/\` | the hub on Cloudflare: a Worker and one Durable Object per mesh (\`npm run deploy:cloudflare\`) |
| \`deploy/deno/\`, \`deno.json\` | the hub and the nodes on Deno (\`deno task dev\`, \`deno task hub\`, \`deno task test\`) |
| \`deploy/container/\` | the hub in a container (\`npm run build:container\`, then \`docker run -p 8787:8787 ${name}-hub\`) |

\`\`\`sh
npm install
npx happen dev                                   # local hub + dashboard, runs the nodes, restarts them on crash
npx happen create-node orders --template api     # more templates: db, webhook, agent, browser
npm test
\`\`\`
`,
    },
  ];
}
