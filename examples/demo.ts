/**
 * The main demo, on embedded defaults (in-memory, no services): a UI asks an agent for a report, the
 * agent announces progress and asks a database node; then a bad request and a crash show how errors
 * become events. Finally the whole causal tree is printed from the causal event web.
 */
import * as v from 'valibot';
import { createHappen, ERROR_EVENT, type TraceNode } from '../src/index.ts';

const happen = createHappen();

const db = happen.createNode('db', { state: { rows: { sarah: 42, omar: 7 } as Record<string, number> } });
db.on('analytics.getData', { schema: v.object({ user: v.string() }) }, (event, ctx) => {
  const visits = ctx.state.get((s: { rows: Record<string, number> }) => s.rows[event.payload.user]);
  if (visits === undefined) throw new Error(`no data for ${event.payload.user}`);
  return { user: event.payload.user, visits };
});

const agent = happen.createNode('agent');
agent.on('report.generate', (event, ctx) => {
  ctx.broadcast({ type: 'report.started', payload: { user: event.payload.user } });
  return ctx.send('db', { type: 'analytics.getData', payload: { user: event.payload.user } });
});

const ui = happen.createNode('ui');
ui.on('report.started', (event) => console.log(`ui: report started for ${event.payload.user}`));
ui.on(ERROR_EVENT, (event) => console.log(`ui: error event ${event.payload.category}/${event.payload.code} from ${event.context.causal.sender}`));

const request = ui.send('agent', { type: 'report.generate', payload: { user: 'sarah' } });
console.log('ui: result', await request.return());

for (const payload of [{ user: 42 }, { user: 'nobody' }]) {
  await ui
    .send('db', { type: 'analytics.getData', payload })
    .return()
    .catch((error) => console.log(`ui: ${error.category} error ${error.code}: ${error.message}`));
}
await happen.settled();

function print(node: TraceNode, depth = 0): void {
  const { event } = node;
  const route = `${event.context.causal.sender} → ${event.context.target ?? 'all'}`;
  console.log(`${'  '.repeat(depth)}${depth ? '└ ' : ''}${event.type}  (${route})`);
  for (const child of node.children) print(child, depth + 1);
}
console.log('\ncausal tree of the report request:');
for (const root of happen.trace(request.event.context.causal.correlationId).roots) print(root);
