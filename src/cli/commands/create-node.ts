/**
 * `happen create-node NAME --template api|db|webhook|agent|browser [--json]`: writes
 * src/nodes/NAME.ts from a template and lists it in happen.config.json's `nodes` (unless a glob
 * there already covers it). Refuses a bad name and never overwrites a file.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { oneOf, parseCommand, type Command } from '../args.ts';
import { loadConfig, nodesCover, readConfigJson } from '../config.ts';
import { CliError, createOutput, usageError } from '../output.ts';
import { NODE_NAME, RESERVED_NODE_NAMES } from '../templates/naming.ts';
import { NODE_TEMPLATES, TEMPLATE_IDS } from '../templates/nodes/index.ts';

/** Where create-node puts node modules, relative to the project root. */
export const NODES_DIR = 'src/nodes';

export const createNode: Command = {
  name: 'create-node',
  summary: 'add a node from a template: api, db, webhook, agent or browser',
  usage: `Usage: happen create-node <name> --template <template> [--json]

Writes ${NODES_DIR}/<name>.ts from a template and adds it to happen.config.json's nodes.
The name is the node's id and the first segment of its event types: a letter, then letters,
digits, "-" or "_" (at most 64).

Templates:
${NODE_TEMPLATES.map((t) => `  ${t.id.padEnd(9)}${t.summary}`).join('\n')}

Options:
  --template <t>  one of ${TEMPLATE_IDS.join(', ')}
  --json          print {"name", "template", "file", "config", "configUpdated", "events"}`,
  run(args, io) {
    const { values, positionals } = parseCommand(args, { template: { type: 'string', short: 't' } }, 1);
    const out = createOutput(io, values.json === true);
    const name = positionals[0];
    if (name === undefined) throw usageError('a node name is required, e.g. happen create-node orders --template api');
    if (!NODE_NAME.test(name)) {
      throw usageError(`the node name must be a letter, then letters, digits, "-" or "_", at most 64 in all (got ${JSON.stringify(name)})`);
    }
    if (RESERVED_NODE_NAMES.includes(name.toLowerCase())) throw usageError(`the node name ${JSON.stringify(name)} is reserved: the runtime uses it`);
    const templateId = oneOf('template', values.template, TEMPLATE_IDS);
    if (templateId === undefined) throw usageError(`--template is required: one of ${TEMPLATE_IDS.join(', ')}`);
    const template = NODE_TEMPLATES.find((t) => t.id === templateId)!;

    const loaded = loadConfig(io, { required: true });
    const relativePath = `${NODES_DIR}/${name}.ts`;
    const path = join(loaded.root, relativePath);
    if (existsSync(path)) throw new CliError('FILE_EXISTS', `${relativePath} already exists; choose another name or remove it first`, 1, { file: path });

    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, template.render({ name, mesh: loaded.config.mesh }));

    // Edit the file as written (not the resolved config), so environment overrides never leak into it.
    const configPath = loaded.file!;
    const raw = readConfigJson(configPath) as { nodes?: string[] };
    const covered = nodesCover(loaded.config.nodes, relativePath);
    if (!covered) {
      raw.nodes = [...(raw.nodes ?? []), relativePath];
      writeFileSync(configPath, `${JSON.stringify(raw, null, 2)}\n`);
    }
    const events = template.events(name);
    out.result(
      { name, template: template.id, file: relativePath, config: configPath, configUpdated: !covered, events },
      [
        `Created ${relativePath} (${template.id} template)${covered ? '; happen.config.json already covers it' : ' and added it to happen.config.json'}.`,
        `It handles: ${events.join(', ')}`,
      ].join('\n'),
    );
    return 0;
  },
};
