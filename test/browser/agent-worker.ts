/**
 * The agent side of the programs-of-programs test, in a dedicated worker: told `{ mesh, llm }`, it
 * joins the page's mesh over BroadcastChannel as the system `edge`, hosting the example's analyst
 * agent (an OpenAI-compatible model at the local LLM server `llm`) and its sales database, plus an
 * `inspector` node that answers `trace` with this system's view of a correlation id.
 */
import { openAIChat } from '../../src/agent/models/openai.ts';
import { createHappen } from '../../src/index.ts';
import { mesh } from '../../src/mesh/index.ts';
import { broadcastChannel } from '../../src/transports/broadcast-channel.ts';
import { createAnalyst } from '../../examples/report/analyst.ts';
import { createSalesDatabase } from '../../examples/report/database.ts';
import { traceLines } from './agent-flow.ts';

self.addEventListener('message', async (e: MessageEvent<{ mesh: string; llm: string }>) => {
  try {
    const link = mesh({ transports: [broadcastChannel({ mesh: e.data.mesh })], heartbeatMs: 200 });
    const edge = createHappen({ id: 'edge', extensions: [link] });
    createSalesDatabase(edge);
    createAnalyst(edge, openAIChat({ baseUrl: e.data.llm, model: 'report-model', apiKey: 'browser-test-key' }));
    edge.createNode('inspector').on('trace', (event) => traceLines(edge.trace(event.payload.correlationId)));
    await link.ready;
    self.postMessage({ ready: true });
  } catch (error) {
    self.postMessage({ error: String((error as Error)?.stack ?? error) });
  }
});
