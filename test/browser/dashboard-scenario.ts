/**
 * The dashboard test's mesh (run with tsx by dashboard-tests.mjs): a Node hub and three systems meshed
 * over WebSockets — `browser` (node ui), `edge` (agent) and `server` (db, and a durable ledger) — each
 * with observability on (so each hosts its ops node). It speaks JSON lines: it prints `{ ready, hub, mesh }`; on `run` it plays the
 * three-node scenario (ui → agent → db and the replies) and a durable send the ledger refuses once,
 * so it dead-letters, and prints `{ correlationId, deadLetter }`; on `status` it prints what the
 * ledger handled; on `exit` (or the end of stdin) it closes everything. A second hub, with a secret,
 * hosts mesh `vault` (one system) for the admission check; `ready` carries its URL and a dashboard token.
 */
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { serveHub } from '../../src/cli/hub-node.ts';
import { createHappen, type Happen } from '../../src/index.ts';
import { mesh, type Mesh } from '../../src/mesh/index.ts';
import { createDashboardToken } from '../../src/observe/dashboard-auth.ts';
import { observability } from '../../src/observe/observability.ts';
import { createAdmissionToken } from '../../src/security/tokens.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import { websocket } from '../../src/transports/websocket.ts';

const MESH = 'dash';
const hub = await serveHub({ port: 0 });
const url = `${hub.url}/mesh/${MESH}`;
const links: Mesh[] = [];
const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

/** A system of its own, meshed through the hub; the durable ones give up after one refused attempt. */
function program(id: string, durable = false): { happen: Happen; link: Mesh } {
  const link = mesh({
    transports: [websocket(url, { WebSocket, minReconnectDelay: 20, maxReconnectDelay: 200 })],
    heartbeatMs: 500,
    ...(durable ? { durable: { storage: memoryStorage(), ackTimeoutMs: 300, maxAttempts: 1 } } : {}),
  });
  links.push(link);
  return { happen: createHappen({ id, extensions: [link], observability: observability() }), link };
}

const server = program('server', true);
const db = server.happen.createNode('db');
db.on('analytics.getData', (event) => {
  return { rows: [{ user: (event.payload as { user: string }).user, total: 42 }] };
});
const posted: string[] = [];
let ledgerCalls = 0;
server.happen.createNode('ledger').on('ledger.post', (event) => {
  ledgerCalls++;
  if (ledgerCalls === 1) throw new Error('ledger offline'); // the first try fails; the redrive succeeds
  posted.push(event.id);
  return 'posted';
});

const edge = program('edge');
edge.happen.createNode('agent').on('report.generate', (event, ctx) => {
  ctx.broadcast({ type: 'report.started', payload: {} });
  return ctx.send('db', { type: 'analytics.getData', payload: { user: (event.payload as { user: string }).user } }).return();
});

const browser = program('browser', true);
const ui = browser.happen.createNode('ui');

await Promise.all([browser.link.waitForNode('agent'), browser.link.waitForNode('ledger'), edge.link.waitForNode('db')]);

// A second hub with a secret: its dashboard opens with a dashboard token only. One system joins it with its peer token.
const SECRET = 'the-dashboard-test-secret-32-chars';
const secured = await serveHub({ port: 0, secret: SECRET });
const vault = mesh({ transports: [websocket(`${secured.url}/mesh/vault?token=${await createAdmissionToken(SECRET, { sub: 'keeper', mesh: 'vault' })}`, { WebSocket })], heartbeatMs: 500 });
links.push(vault);
createHappen({ id: 'keeper', extensions: [vault] }).createNode('safe');
await vault.ready;
print({ ready: true, hub: hub.url, mesh: MESH, secured: secured.url, token: await createDashboardToken(SECRET, { mesh: 'vault' }) });

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
  await Promise.all([hub.close(), secured.close()]);
  process.exit(0);
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'run') await run().catch((error) => print({ error: String(error?.stack ?? error) }));
  else if (line === 'status') print({ posted, ledgerCalls, deadLetters: (await browser.link.deadLetters.list()).length });
  else if (line === 'exit') break;
}
await exit();
