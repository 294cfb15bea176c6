/**
 * The programs-of-programs flow in Chromium (`/agent.html`, driven by `agent-tests.mjs` through
 * `window.agentTab`): the page is the browser program with a `ui` node; a dedicated worker is the
 * edge program with the analyst agent and the database (`agent-worker.ts`), meshed over BroadcastChannel.
 */
import type { AgentAnswer } from '../../src/agent/index.ts';
import { createHappen, type Happen, type HappenNode } from '../../src/index.ts';
import { mesh, type Mesh } from '../../src/mesh/index.ts';
import { broadcastChannel } from '../../src/transports/broadcast-channel.ts';
import { traceLines } from './agent-flow.ts';

let link: Mesh | undefined;
let browser: Happen | undefined;
let ui: HappenNode | undefined;
const tokens: string[] = [];

/** Starts the worker and the page's system; resolves once the analyst is reachable. */
async function start(llm: string): Promise<void> {
  const name = `report-${Math.random().toString(36).slice(2)}`;
  const worker = new Worker('/agent-worker.js');
  await new Promise<void>((resolve, reject) => {
    worker.onerror = (e) => reject(new Error(`agent-worker.js failed: ${e.message}`));
    worker.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve());
    worker.postMessage({ mesh: name, llm });
  });
  link = mesh({ transports: [broadcastChannel({ mesh: name })], heartbeatMs: 200 });
  browser = createHappen({ id: 'browser', extensions: [link] });
  ui = browser.createNode('ui');
  ui.on('agent.token', (event) => void tokens.push(event.payload.text));
  await Promise.all(['analyst', 'db', 'inspector'].map((id) => link!.waitForNode(id)));
}

/** The UI asks the analyst; resolves to the answer, the streamed tokens, and the trace as each program saw it. */
async function ask(input: string) {
  const request = ui!.send<AgentAnswer>('analyst', { type: 'agent.think', payload: { input } });
  const answer = await request.return({ timeout: 20_000 });
  await browser!.settled();
  const correlationId = request.event.context.causal.correlationId;
  const edgeTrace = await ui!.send<string[]>('inspector', { type: 'trace', payload: { correlationId } }).return();
  return { answer, tokens: [...tokens], browserTrace: traceLines(browser!.trace(correlationId)), edgeTrace };
}

(globalThis as { agentTab?: unknown }).agentTab = { start, ask };
