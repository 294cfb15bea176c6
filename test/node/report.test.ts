/**
 * The programs-of-programs example in Node (issue 8): three systems — browser, edge, server — on one
 * mesh; the UI asks the example's analyst agent (Anthropic's Messages API, streamed, from the local
 * LLM server) for a report; its model calls the database node as a tool; one causal trace spans all three.
 */
import { afterEach, expect, test } from 'vitest';
import type { AgentAnswer } from '../../src/agent/index.ts';
import { anthropicMessages } from '../../src/agent/models/anthropic.ts';
import { openAIChat } from '../../src/agent/models/openai.ts';
import { createHappen, type Happen, type Trace, type TraceNode } from '../../src/index.ts';
import { mesh, type Mesh } from '../../src/mesh/index.ts';
import { memoryBus } from '../../src/transports/memory.ts';
import { createAnalyst } from '../../examples/report/analyst.ts';
import { createSalesDatabase } from '../../examples/report/database.ts';
import { startLlmServer, type LlmServer, type RecordedCall } from '../llm-server.mjs';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

// Asked for a report, the model calls query_sales for north and south; given the rows, it reports the totals it was sent.
function respond(call: RecordedCall) {
  const last = call.messages.at(-1)!;
  if (last.role !== 'tool') return { toolCalls: [{ name: 'query_sales', arguments: { region: 'north' } }, { name: 'query_sales', arguments: { region: 'south' } }] };
  const totals = call.messages.filter((m) => m.role === 'tool').map((m) => JSON.parse(m.content)).map((r) => `${r.region} ${r.total}`);
  return { content: `Report: ${totals.join(', ')}.` };
}

function lines(trace: Trace): string[] {
  const out: string[] = [];
  const walk = (node: TraceNode, depth: number) => {
    if (node.event.type !== 'agent.token') out.push(`${'  '.repeat(depth)}${node.event.type} (${node.event.context.causal.sender} → ${node.event.context.target ?? 'all'})`);
    for (const child of node.children) walk(child, depth + 1);
  };
  for (const root of trace.roots) walk(root, 0);
  return out;
}

async function threePrograms(model: (llm: LlmServer) => Parameters<typeof createAnalyst>[1]) {
  const llm = await startLlmServer({ apiKey: 'node-test-key', respond });
  const bus = memoryBus();
  const links: Mesh[] = [];
  const program = (id: string): Happen => {
    const link = mesh({ transports: [bus.transport()], heartbeatMs: 200 });
    links.push(link);
    return createHappen({ id, extensions: [link] });
  };
  cleanups.push(async () => {
    await Promise.all(links.map((link) => link.close()));
    await llm.close();
  });
  const server = program('server');
  createSalesDatabase(server);
  const edge = program('edge');
  createAnalyst(edge, model(llm));
  const browser = program('browser');
  const ui = browser.createNode('ui');
  const tokens: string[] = [];
  ui.on('agent.token', (event) => void tokens.push(event.payload.text));
  await Promise.all(['analyst', 'db'].map((id) => links[2]!.waitForNode(id)));
  await links[1]!.waitForNode('db');
  return { llm, ui, tokens, server, edge, browser };
}

for (const [provider, model] of [
  ['Anthropic messages', (llm: LlmServer) => anthropicMessages({ baseUrl: llm.anthropicBaseUrl, apiKey: 'node-test-key', model: 'claude-test' })],
  ['OpenAI chat completions', (llm: LlmServer) => openAIChat({ baseUrl: llm.openaiBaseUrl, apiKey: 'node-test-key', model: 'gpt-test' })],
] as const) {
  test(`[node] programs of programs over ${provider}: UI → agent → database across three systems, tokens streamed, one causal trace`, async () => {
    const { llm, ui, tokens, server, edge, browser } = await threePrograms(model);
    const request = ui.send<AgentAnswer>('analyst', { type: 'agent.think', payload: { input: 'Sales report for north and south, please.' } });
    const answer = await request.return({ timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the last broadcast crosses the bus

    expect(answer.content).toBe('Report: north 3360, south 4110.');
    expect(answer.toolCalls.map((c) => [c.name, c.arguments, (c.result as { total: number }).total])).toEqual([
      ['query_sales', { region: 'north' }, 3360],
      ['query_sales', { region: 'south' }, 4110],
    ]);
    expect(tokens.join('')).toBe(answer.content);
    expect(tokens.length).toBeGreaterThan(2);
    expect(llm.calls.map((c) => c.stream)).toEqual([true, true]);
    expect(llm.calls[1]!.messages.filter((m) => m.role === 'tool').map((m) => JSON.parse(m.content).region)).toEqual(['north', 'south']);

    const correlationId = request.event.context.causal.correlationId;
    expect(lines(edge.trace(correlationId))).toEqual([
      'agent.think (ui → analyst)',
      '  db.sales (analyst → db)',
      '    happen.reply (db → analyst)',
      '  db.sales (analyst → db)',
      '    happen.reply (db → analyst)',
      '  agent.answer (analyst → all)',
      '  happen.reply (analyst → ui)',
    ]);
    // Each program saw its own part of the same tree: the ids and causes are the same everywhere.
    // The server never saw the think itself: its parts hang from it by causationId, as roots.
    expect(lines(server.trace(correlationId))).toEqual([
      'db.sales (analyst → db)',
      '  happen.reply (db → analyst)',
      'db.sales (analyst → db)',
      '  happen.reply (db → analyst)',
      'agent.answer (analyst → all)',
    ]);
    const serverRoots = server.trace(correlationId).roots.map((r) => r.event.context.causal.causationId);
    expect(new Set(serverRoots)).toEqual(new Set([request.event.id]));
    expect(lines(browser.trace(correlationId))).toEqual(['agent.think (ui → analyst)', '  agent.answer (analyst → all)', '  happen.reply (analyst → ui)']);
  });
}
