/** The browser side of the cross-runtime test: a tab hosting `ui`, joined to the hub over WebSocket. */
import { createHappen, type HappenEvent } from '../../src/index.ts';
import { mesh } from '../../src/mesh/index.ts';
import { websocket } from '../../src/transports/websocket.ts';

const membership: Array<{ type: string; node: string; reason?: string; at: number }> = [];
let happen: ReturnType<typeof createHappen> | undefined;
let tabMesh: ReturnType<typeof mesh> | undefined;

Object.assign(globalThis, {
  async startUi(url: string) {
    tabMesh = mesh({ transports: [websocket(url, { minReconnectDelay: 50 })], heartbeatMs: 300 });
    happen = createHappen({ id: 'tab', extensions: [tabMesh] });
    const ui = happen.createNode('ui');
    ui.on('{report,rows}.*', () => undefined); // the fan-out reaches the tab
    ui.on('mesh.node.*', (e: HappenEvent) => void membership.push({ type: e.type, node: e.payload.node, reason: e.payload.reason, at: Date.now() }));
    await tabMesh.ready;
    await tabMesh.waitForNode('db', { timeout: 10_000 });
    await tabMesh.waitForNode('edge', { timeout: 10_000 });
    return happen.nodes();
  },
  async report(user: string) {
    const sent = happen!.getNode('ui')!.send('edge', { type: 'report.generate', payload: { user } });
    const result = await sent.return({ timeout: 5_000 });
    await new Promise((r) => setTimeout(r, 200)); // the broadcasts' fan-out lands
    return { result, request: sent.event, events: happen!.trace(sent.event.context.causal.correlationId).events };
  },
  membership: () => membership,
  nodes: () => happen!.nodes(),
  waitForNode: (id: string) => tabMesh!.waitForNode(id, { timeout: 10_000 }).then(() => true),
});
(globalThis as { pageReady?: boolean }).pageReady = true;
