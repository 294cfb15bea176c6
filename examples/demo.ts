/**
 * The main demo, on embedded defaults (no accounts, no services beyond a hub on loopback): three
 * programs — a UI, an agent and a wrapped database — each its own Happen system, meshed through a
 * local hub. The UI asks the agent for a report; the agent announces progress and asks the database.
 * A bad request and a crash show how errors become events, wherever they happen. Finally the causal
 * tree, as the UI's system saw it, is printed from its causal event web.
 */
import * as v from 'valibot';
import WebSocket from 'ws'; // Node 20 has no global WebSocket; browsers, workers and Deno do
import { serveHub } from '../src/cli/hub-node.ts';
import { createHappen, ERROR_EVENT, type TraceNode } from '../src/index.ts';
import { mesh } from '../src/mesh/index.ts';
import { websocket } from '../src/transports/websocket.ts';

const hub = await serveHub({ port: 0 });
const links: Array<ReturnType<typeof mesh>> = [];
/** One program: a system of its own, joined to the mesh through the hub. */
function program(id: string) {
  const link = mesh({ transports: [websocket(`${hub.url}/mesh/demo`, { WebSocket })] });
  links.push(link);
  return createHappen({ id, extensions: [link] });
}

const server = program('server');
const db = server.createNode('db', { state: { rows: { sarah: 42, omar: 7 } as Record<string, number> } });
db.on('analytics.getData', { schema: v.object({ user: v.string() }) }, (event, ctx) => {
  const visits = ctx.state.get((s: { rows: Record<string, number> }) => s.rows[event.payload.user]);
  if (visits === undefined) throw new Error(`no data for ${event.payload.user}`);
  return { user: event.payload.user, visits };
});

const edge = program('edge');
const agent = edge.createNode('agent');
agent.on('report.generate', (event, ctx) => {
  ctx.broadcast({ type: 'report.started', payload: { user: event.payload.user } });
  return ctx.send('db', { type: 'analytics.getData', payload: { user: event.payload.user } });
});

const browser = program('browser');
const ui = browser.createNode('ui');
ui.on('report.started', (event) => console.log(`ui: report started for ${event.payload.user}`));
ui.on(ERROR_EVENT, (event) => console.log(`ui: error event ${event.payload.category}/${event.payload.code} from ${event.context.causal.sender}`));

await Promise.all(['agent', 'db'].map((id) => links[2]!.waitForNode(id)));
await links[1]!.waitForNode('db');
console.log(`mesh: ${links[2]!.nodes().map((n) => `${n.id}@${n.system}`).join(', ')}`);

const request = ui.send('agent', { type: 'report.generate', payload: { user: 'sarah' } });
console.log('ui: result', await request.return({ timeout: 5_000 }));

for (const payload of [{ user: 42 }, { user: 'nobody' }]) {
  await ui
    .send('db', { type: 'analytics.getData', payload })
    .return({ timeout: 5_000 })
    .catch((error) => console.log(`ui: ${error.category} error ${error.code}: ${error.message}`));
}
await new Promise((resolve) => setTimeout(resolve, 100)); // the last error events cross the hub

function print(node: TraceNode, depth = 0): void {
  const { event } = node;
  const route = `${event.context.causal.sender} → ${event.context.target ?? 'all'}`;
  console.log(`${'  '.repeat(depth)}${depth ? '└ ' : ''}${event.type}  (${route})`);
  for (const child of node.children) print(child, depth + 1);
}
console.log('\ncausal tree of the report request, as the browser program saw it:');
for (const root of browser.trace(request.event.context.causal.correlationId).roots) print(root);
console.log('\n…and as the edge program saw it:');
for (const root of edge.trace(request.event.context.causal.correlationId).roots) print(root);

await Promise.all(links.map((link) => link.close()));
await hub.close();
