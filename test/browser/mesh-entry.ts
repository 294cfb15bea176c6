/**
 * One Happen system per tab, meshed over `broadcastChannel()`, driven through `window.meshTab` by the
 * mesh test in `bus-tests.mjs`. Tab B hosts `b-node` (answers `greet`, broadcasting `greeted` on the
 * way); tab A hosts `a-node`, sends to B and broadcasts `news`, which B records.
 */
import { createHappen, type Happen, type HappenNode } from '../../src/index.ts';
import { mesh } from '../../src/mesh/index.ts';
import { broadcastChannel } from '../../src/transports/broadcast-channel.ts';

let happen: Happen;
let node: HappenNode;
let waitForNode: (id: string, options: { timeout: number }) => Promise<void>;
const heard: string[] = [];
const left: Array<{ node: string; system: string; reason: string; at: number }> = [];

/** Starts this tab's system `system` with one node, `nodeId`, on the mesh `systems`. */
async function start(system: string, nodeId: string): Promise<void> {
  const m = mesh({ transports: [broadcastChannel({ mesh: 'systems' })], heartbeatMs: 200 });
  happen = createHappen({ id: system, extensions: [m] });
  waitForNode = (id, options) => m.waitForNode(id, options);
  node = happen.createNode(nodeId);
  node.on('greet', (event, ctx) => {
    ctx.broadcast({ type: 'greeted', payload: { name: event.payload.name } });
    return { hello: event.payload.name, from: nodeId };
  });
  node.on('mesh.node.left', (event) => void left.push({ ...event.payload, at: Date.now() }));
  node.on('{greeted,news}', (event) => void heard.push(`${event.type}:${JSON.stringify(event.payload)}@${event.context.causal.sender}`));
  await m.ready;
}

/** Sends `greet` to `target` across the mesh and returns its answer and this tab's trace of it. */
async function greet(target: string, name: string) {
  await waitForNode(target, { timeout: 5_000 });
  const sent = node.send(target, { type: 'greet', payload: { name } });
  const result = await sent.return({ timeout: 5_000 });
  await new Promise((resolve) => setTimeout(resolve, 100)); // the `greeted` broadcast may land just after the reply
  const trace = happen.trace(sent.event.context.causal.correlationId);
  return {
    result,
    requestId: sent.event.id,
    trace: trace.events.map((e) => ({ type: e.type, sender: e.context.causal.sender, causationId: e.context.causal.causationId })),
  };
}

/** Broadcasts `news` from this tab's node. */
function news(text: string): void {
  node.broadcast({ type: 'news', payload: { text } });
}

(globalThis as Record<string, unknown>).meshTab = { start, greet, news, heard: () => heard, left: () => left, waitForNode: (id: string) => waitForNode(id, { timeout: 5_000 }) };
