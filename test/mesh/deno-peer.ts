/**
 * The Deno side of the cross-runtime test: a system hosting `db`, joined to the hub over WebSocket.
 * `deno run --allow-net --allow-env deno-peer.ts <hub mesh url>`; prints `READY` once it is in the mesh,
 * then one JSON line per handled request, with the events its causal web holds for that correlation.
 */
import { createHappen } from '../../src/index.ts';
import { mesh } from '../../src/mesh/index.ts';
import { websocket } from '../../src/transports/websocket.ts';

// The slice of Deno's namespace used here, so the Node type check needs no Deno types.
declare const Deno: { args: string[]; pid: number };

const url = Deno.args[0]!;
const peerMesh = mesh({ transports: [websocket(url, { minReconnectDelay: 50 })], heartbeatMs: 300 });
const happen = createHappen({ id: 'deno', extensions: [peerMesh] });
const db = happen.createNode('db');
db.on('rows.get', (event, ctx) => {
  ctx.broadcast({ type: 'rows.read', payload: { user: event.payload.user, by: Deno.pid } });
  setTimeout(() => {
    const correlationId = event.context.causal.correlationId;
    console.log(JSON.stringify({ handled: event.id, events: happen.trace(correlationId).events }));
  }, 200);
  return { rows: [`${event.payload.user}:${Deno.pid}`] };
});
const heard: string[] = [];
db.on('report.*', (event) => void heard.push(event.type));
await peerMesh.ready;
await peerMesh.waitForNode('edge', { timeout: 10_000 });
console.log('READY');
