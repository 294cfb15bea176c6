import WebSocket from 'ws';
import { afterEach, describe, expect, test } from 'vitest';
import { createHappen } from '../../src/index.ts';
import { serveHub, type HubServer } from '../../src/cli/hub-node.ts';
import { mesh, type Mesh } from '../../src/mesh/index.ts';
import { http } from '../../src/transports/http.ts';
import type { Transport } from '../../src/transports/transport.ts';
import { websocket } from '../../src/transports/websocket.ts';
import { eventually } from './hub/helpers.ts';

const opened: Array<Mesh | HubServer> = [];
afterEach(async () => {
  for (const x of opened.splice(0).reverse()) await x.close();
});

async function hub(): Promise<HubServer> {
  const server = await serveHub({ port: 0, sweepMs: 50 });
  opened.push(server);
  return server;
}

function system(id: string, transport: Transport) {
  const m = mesh({ transports: [transport], heartbeatMs: 200 });
  opened.push(m);
  return { happen: createHappen({ id, extensions: [m] }), mesh: m };
}

const ws = (url: string) => websocket(url, { WebSocket, minReconnectDelay: 20, maxReconnectDelay: 100 });

describe('[node] two Happen systems meshed through the Node hub', () => {
  test('send(...).return() round trip, a broadcast, and NO_SUCH_NODE from the hub, over websockets', async () => {
    const server = await hub();
    const url = `${server.url}/mesh/app`;
    const a = system('sys-a', ws(url));
    const b = system('sys-b', ws(url));
    b.happen.createNode('db').on('rows.get', (e) => ({ rows: [(e.payload as { user: string }).user] }));
    const heard: string[] = [];
    b.happen.createNode('listener').on('news.*', (e) => void heard.push(`${e.type}:${e.payload}`));
    const ui = a.happen.createNode('ui');
    await Promise.all([a.mesh.ready, b.mesh.ready]);
    await a.mesh.waitForNode('db', { timeout: 5000 });
    await a.mesh.waitForNode('listener', { timeout: 5000 });
    await b.mesh.waitForNode('ui', { timeout: 5000 });

    const sent = ui.send('db', { type: 'rows.get', payload: { user: 'sarah' } });
    expect(await sent.return({ timeout: 5000 })).toEqual({ rows: ['sarah'] });
    ui.broadcast({ type: 'news.posted', payload: 'hello' });
    await eventually(() => expect(heard).toEqual(['news.posted:hello']));

    // Nobody hosts "ghost": the hub answers, and the answer is linked to the request.
    const lost = ui.send('ghost', { type: 'rows.get', payload: {} });
    await expect(lost.return({ timeout: 5000 })).rejects.toMatchObject({ category: 'runtime', code: 'NO_SUCH_NODE' });
  });

  test('an http-transport system and a websocket system round trip through the hub', async () => {
    const server = await hub();
    const url = `${server.url}/mesh/app`;
    const a = system('sys-a', http(url, { system: 'sys-a', minReconnectDelay: 20 }));
    const b = system('sys-b', ws(url));
    b.happen.createNode('echo').on('echo.say', (e) => `echo: ${e.payload}`);
    const caller = a.happen.createNode('caller');
    await Promise.all([a.mesh.ready, b.mesh.ready]);
    await a.mesh.waitForNode('echo', { timeout: 5000 });
    await b.mesh.waitForNode('caller', { timeout: 5000 });
    expect(await caller.send('echo', { type: 'echo.say', payload: 'hi' }).return({ timeout: 5000 })).toBe('echo: hi');
  });
});

describe('[node] a signed hub', () => {
  test("at security level medium, the hub's NO_SUCH_NODE answer is accepted once its key is trusted: the send fails fast", async () => {
    const { generateIdentity, security } = await import('../../src/security/index.ts');
    const identity = await generateIdentity({ extractable: true });
    const server = await serveHub({ port: 0, sweepMs: 50, identity });
    opened.push(server);
    const sec = security({ level: 'medium' });
    sec.trust('hub', identity.publicKey);
    const m = mesh({ transports: [ws(`${server.url}/mesh/signed`)], heartbeatMs: 200 });
    opened.push(m);
    const happen = createHappen({ id: 'sys-a', extensions: [sec, m] });
    const ui = happen.createNode('ui');
    await m.ready;
    await eventually(() => expect(server.relays.stats().peers).toBe(1));
    const started = Date.now();
    await expect(ui.send('ghost', { type: 'rows.get' }).return({ timeout: 5_000 })).rejects.toMatchObject({ code: 'NO_SUCH_NODE' });
    expect(Date.now() - started).toBeLessThan(2_000);
    const answer = happen.events().find((e) => e.type === 'happen.reply' && e.context.causal.sender === 'hub');
    expect(answer?.signature).toBeTruthy();
  });
});
