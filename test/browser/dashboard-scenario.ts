/**
 * The dashboard test's mesh (run with tsx by dashboard-tests.mjs): a Node hub and three systems meshed
 * over WebSockets — `browser` (node ui), `edge` (agent) and `server` (db, and a durable ledger) — each
 * with an ops node. It speaks JSON lines: it prints `{ ready, hub, mesh }`; on `run` it plays the
 * three-node scenario (ui → agent → db and the replies) and a durable send the ledger refuses once,
 * so it dead-letters, and prints `{ correlationId, deadLetter }`; on `status` it prints what the
 * ledger handled; on `exit` (or the end of stdin) it closes everything.
 */
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { serveHub } from '../../src/cli/hub-node.ts';
import { createHappen, type Happen } from '../../src/index.ts';
import { mesh, type Mesh } from '../../src/mesh/index.ts';
import { OPS_EVENTS, opsNodeId, type SystemHealth } from '../../src/observe/ops-contract.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import { websocket } from '../../src/transports/websocket.ts';

const MESH = 'dash';
const hub = await serveHub({ port: 0 });
const url = `${hub.url}/mesh/${MESH}`;
const links: Mesh[] = [];
const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

/** A system of its own, meshed through the hub; the durable ones give up after one refused attempt. */
function program(id: string, durable = false): { happen: Happen; link: Mesh; count: Counter } {
  const link = mesh({
    transports: [websocket(url, { WebSocket, minReconnectDelay: 20, maxReconnectDelay: 200 })],
    heartbeatMs: 500,
    ...(durable ? { durable: { storage: memoryStorage(), ackTimeoutMs: 300, maxAttempts: 1 } } : {}),
  });
  links.push(link);
  const happen = createHappen({ id, extensions: [link] });
  return { happen, link, count: opsNode(happen, link) };
}

/** Records one handling of `node` for the ops node's health answer. */
type Counter = (node: string, failed?: boolean) => void;

// The ops contract answered by hand: health counts what each node handled, dead letters come from the mesh.
function opsNode(happen: Happen, link: Mesh): Counter {
  const counts = new Map<string, { in: number; failures: number }>();
  const ops = happen.createNode(opsNodeId(happen.id));
  ops.on(OPS_EVENTS.health, async (): Promise<SystemHealth> => ({
    system: happen.id,
    at: Date.now(),
    nodes: [...counts].map(([node, c]) => ({ node, system: happen.id, status: c.failures > 0 ? 'degraded' : 'ok', lastSeen: Date.now(), eventsIn: c.in, eventsOut: 0, failures: c.failures, errorRate: c.in ? c.failures / c.in : 0, avgLatencyMs: 0.4 })),
    queue: link.queue(),
    deadLetters: (await link.deadLetters.list()).length,
    peers: link.peers().length,
  }));
  ops.on(OPS_EVENTS.deadLetters, () => link.deadLetters.list());
  ops.on(OPS_EVENTS.redrive, async (e) => ({ redriven: await link.deadLetters.redrive((e.payload as { key: string }).key) }));
  ops.on(OPS_EVENTS.discard, async (e) => ({ discarded: await link.deadLetters.discard((e.payload as { key: string }).key) }));
  return (node, failed = false) => {
    const c = counts.get(node) ?? { in: 0, failures: 0 };
    c.in++;
    if (failed) c.failures++;
    counts.set(node, c);
  };
}

const server = program('server', true);
const db = server.happen.createNode('db');
db.on('analytics.getData', (event) => {
  server.count('db');
  return { rows: [{ user: (event.payload as { user: string }).user, total: 42 }] };
});
const posted: string[] = [];
let ledgerCalls = 0;
server.happen.createNode('ledger').on('ledger.post', (event) => {
  ledgerCalls++;
  server.count('ledger', ledgerCalls === 1);
  if (ledgerCalls === 1) throw new Error('ledger offline'); // the first try fails; the redrive succeeds
  posted.push(event.id);
  return 'posted';
});

const edge = program('edge');
edge.happen.createNode('agent').on('report.generate', (event, ctx) => {
  edge.count('agent');
  ctx.broadcast({ type: 'report.started', payload: {} });
  return ctx.send('db', { type: 'analytics.getData', payload: { user: (event.payload as { user: string }).user } }).return();
});

const browser = program('browser', true);
const ui = browser.happen.createNode('ui');

await Promise.all([browser.link.waitForNode('agent'), browser.link.waitForNode('ledger'), edge.link.waitForNode('db')]);
print({ ready: true, hub: hub.url, mesh: MESH });

async function run(): Promise<void> {
  const request = ui.send('agent', { type: 'report.generate', payload: { user: 'sarah' } });
  await request.return({ timeout: 10_000 });
  const post = ui.send('ledger', { type: 'ledger.post', payload: { amount: 5 } });
  const deadline = Date.now() + 10_000;
  let letters = await browser.link.deadLetters.list();
  while (letters.length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    letters = await browser.link.deadLetters.list();
  }
  print({ correlationId: request.event.context.causal.correlationId, deadLetter: letters[0]?.key ?? null, deadEventId: post.event.id });
}

async function exit(): Promise<void> {
  await Promise.all(links.map((link) => link.close()));
  await hub.close();
  process.exit(0);
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'run') await run().catch((error) => print({ error: String(error?.stack ?? error) }));
  else if (line === 'status') print({ posted, ledgerCalls, deadLetters: (await browser.link.deadLetters.list()).length });
  else if (line === 'exit') break;
}
await exit();
