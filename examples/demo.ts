/**
 * The main demo, on embedded defaults (no accounts, no services beyond a hub on loopback): the
 * programs-of-programs flow. Three programs — a browser UI, an analyst agent at the edge and a
 * wrapped database on a server — each its own Happen system, meshed through a local hub. The UI
 * asks the agent for a report; the agent's model calls the database as a tool (two sends), streams
 * its answer as token events, and answers. A bad request and a failing one show how errors become
 * events, wherever they happen. Finally the causal tree, as the UI's system saw it, is printed.
 * Set HAPPEN_MODEL_URL (and HAPPEN_MODEL, HAPPEN_MODEL_KEY) to use a real OpenAI-compatible model.
 */
import WebSocket from 'ws'; // Node 20 has no global WebSocket; browsers, workers and Deno do
import type { AgentAnswer } from '../src/agent/index.ts';
import { serveHub } from '../src/cli/hub-node.ts';
import { createHappen, ERROR_EVENT, type TraceNode } from '../src/index.ts';
import { mesh } from '../src/mesh/index.ts';
import { websocket } from '../src/transports/websocket.ts';
import { createAnalyst } from './report/analyst.ts';
import { createSalesDatabase } from './report/database.ts';
import { modelFromEnv } from './report/model-from-env.ts';

const hub = await serveHub({ port: 0 });
const links: Array<ReturnType<typeof mesh>> = [];
/** One program: a system of its own, joined to the mesh through the hub. */
function program(id: string) {
  const link = mesh({ transports: [websocket(`${hub.url}/mesh/demo`, { WebSocket })] });
  links.push(link);
  return createHappen({ id, extensions: [link] });
}

const server = program('server');
createSalesDatabase(server);

const edge = program('edge');
const model = modelFromEnv(process.env);
createAnalyst(edge, model);

const browser = program('browser');
const ui = browser.createNode('ui');
let streamed = '';
ui.on('agent.token', (event) => void (streamed += event.payload.text));
ui.on(ERROR_EVENT, (event) => console.log(`ui: error event ${event.payload.category}/${event.payload.code} from ${event.context.causal.sender}`));

await Promise.all(['analyst', 'db'].map((id) => links[2]!.waitForNode(id)));
await links[1]!.waitForNode('db');
console.log(`mesh: ${links[2]!.nodes().map((n) => `${n.id}@${n.system}`).join(', ')} (model: ${model.name})`);

const input = 'Write a sales report for the north and south regions.';
console.log(`ui → analyst: ${input}`);
const request = ui.send<AgentAnswer>('analyst', { type: 'agent.think', payload: { input } });
const answer = await request.return({ timeout: 60_000 });
for (const call of answer.toolCalls) console.log(`analyst used ${call.name}(${JSON.stringify(call.arguments)}) → total ${(call.result as { total?: number } | undefined)?.total}`);
console.log(`ui: answer after ${answer.rounds} model rounds (${streamed === answer.content ? 'streamed to the UI as token events' : 'not streamed'}):\n${answer.content}`);

for (const payload of [{ region: 42 }, { region: 'north', month: '1999-01' }]) {
  await ui
    .send('db', { type: 'db.sales', payload })
    .return({ timeout: 5_000 })
    .catch((error) => console.log(`ui: ${error.category} error ${error.code}: ${error.message.split('\n')[0]}`));
}
await new Promise((resolve) => setTimeout(resolve, 100)); // the last error events cross the hub

function print(node: TraceNode, depth = 0, tokens = { shown: false }): void {
  const { event } = node;
  if (event.type === 'agent.token') {
    if (tokens.shown) return; // one line stands for the whole stream
    tokens.shown = true;
  }
  const route = `${event.context.causal.sender} → ${event.context.target ?? 'all'}`;
  const more = event.type === 'agent.token' ? ' …' : '';
  console.log(`${'  '.repeat(depth)}${depth ? '└ ' : ''}${event.type}${more}  (${route})`);
  for (const child of node.children) print(child, depth + 1, tokens);
}
console.log('\ncausal tree of the report request, as the edge program (the agent) saw it:');
for (const root of edge.trace(request.event.context.causal.correlationId).roots) print(root);

await Promise.all(links.map((link) => link.close()));
await hub.close();
