/**
 * Agent nodes against a real local HTTP server speaking OpenAI chat completions and Anthropic
 * messages (test/llm-server.mjs), streaming on: tools as events over the wire, retries, trimming, plans.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { createHappen, type Happen, type HappenEvent } from '../../src/index.ts';
import { createAgentNode, estimateTokens, type Model, type ToolDefinition } from '../../src/agent/index.ts';
import { anthropicMessages } from '../../src/agent/models/anthropic.ts';
import { openAIChat, openAIEmbeddings } from '../../src/agent/models/openai.ts';
import { createMemoryNode } from '../../src/agent/memory/memory-node.ts';
import { vectorMemory } from '../../src/agent/memory/vector-memory.ts';
import { startLlmServer, type AnswerReply, type LlmServer } from '../llm-server.mjs';

const KEY = 'sk-agent-test-0123456789';
const servers: LlmServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

interface Provider {
  name: 'openai' | 'anthropic';
  model(server: LlmServer): Model;
  /** The reply carrying structured output: OpenAI answers JSON text, Anthropic calls the format tool. */
  structured(name: string, value: object): AnswerReply;
}

const providers: Provider[] = [
  {
    name: 'openai',
    model: (s) => openAIChat({ baseUrl: s.openaiBaseUrl, apiKey: KEY, model: 'gpt-test', retryDelayMs: 5 }),
    structured: (_name, value) => ({ content: JSON.stringify(value) }),
  },
  {
    name: 'anthropic',
    model: (s) => anthropicMessages({ baseUrl: s.anthropicBaseUrl, apiKey: KEY, model: 'claude-test', retryDelayMs: 5 }),
    structured: (name, value) => ({ toolCalls: [{ name, arguments: value }], finishReason: 'tool_calls' }),
  },
];

async function server(): Promise<LlmServer> {
  const s = await startLlmServer({ apiKey: KEY });
  servers.push(s);
  return s;
}

function observe(happen: Happen, pattern: string): HappenEvent[] {
  const seen: HappenEvent[] = [];
  happen.createNode(`observer-${pattern.replace(/\W/g, '')}`).on(pattern, (e) => void seen.push(e));
  return seen;
}

/** A weather tool the agent hosts and a lookup tool served by a db node. */
function tools(happen: Happen): ToolDefinition[] {
  happen.createNode('db').on('tool.lookup', (e) => ({ key: e.payload.key, value: 42 }));
  return [
    {
      name: 'weather',
      description: 'Current weather of a city',
      parameters: { type: 'object', required: ['city'], properties: { city: { type: 'string' } } },
      run: (args: { city: string }) => ({ city: args.city, celsius: 5 }),
    },
    { name: 'lookup', description: 'Looks a key up', parameters: { type: 'object', required: ['key'], properties: { key: { type: 'string' } } }, node: 'db' },
  ];
}

describe.each(providers)('agent over $name', (provider) => {
  test('a multi-turn conversation with two tool calls, streamed, tools as events', async () => {
    const s = await server();
    const happen = createHappen();
    const tokens = observe(happen, 'agent.token');
    const agent = createAgentNode('agent', { model: provider.model(s), happen, systemPrompt: 'You are terse.', tools: tools(happen) });
    s.enqueue(
      { toolCalls: [{ id: 'call_w', name: 'weather', arguments: { city: 'Oslo' } }, { id: 'call_l', name: 'lookup', arguments: { key: 'x' } }], finishReason: 'tool_calls' },
      { content: 'Oslo is 5 degrees and x is 42.' },
      { content: 'You asked about Oslo.' },
    );
    const answer = await agent.think('Weather in Oslo, and x?');
    expect(answer.content).toBe('Oslo is 5 degrees and x is 42.');
    expect(answer.rounds).toBe(2);
    expect(answer.toolCalls.map((c) => [c.name, c.arguments, c.result])).toEqual([
      ['weather', { city: 'Oslo' }, { city: 'Oslo', celsius: 5 }],
      ['lookup', { key: 'x' }, { key: 'x', value: 42 }],
    ]);
    expect(answer.usage.inputTokens).toBeGreaterThan(0);
    expect(s.calls.every((c) => c.stream)).toBe(true);
    const offered = provider.name === 'openai' ? s.calls[0]!.body.tools.map((t: any) => t.function.name) : s.calls[0]!.body.tools.map((t: any) => t.name);
    expect(offered).toEqual(['weather', 'lookup']);
    // Round 2 carries the tool results as tool turns answering the model's call ids.
    const round2 = s.calls[1]!.messages;
    expect(round2.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'tool']);
    expect(round2.slice(3).map((m) => [m.toolCallId, JSON.parse(m.content)])).toEqual([
      ['call_w', { city: 'Oslo', celsius: 5 }],
      ['call_l', { key: 'x', value: 42 }],
    ]);
    await happen.settled();
    const thinkTokens = tokens.filter((t) => t.payload.thinkId === answer.eventId);
    expect(thinkTokens.map((t) => t.payload.text).join('')).toBe('Oslo is 5 degrees and x is 42.');
    expect(thinkTokens.length).toBeGreaterThan(1);
    const types = happen.trace(answer.correlationId).events.map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['agent.think', 'tool.weather', 'tool.lookup']);
    expect(types).toContain('agent.answer');

    const second = await agent.think('Which city did I ask about?');
    expect(second.content).toBe('You asked about Oslo.');
    const turn2 = s.calls[2]!.messages;
    expect(turn2.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'tool', 'assistant', 'user']);
    expect(turn2[5]!.content).toBe('Oslo is 5 degrees and x is 42.');
    expect(turn2[6]!.content).toBe('Which city did I ask about?');
  });

  test('a 429 then success: the think answers after the retry; a 429 that persists is MODEL_QUOTA', async () => {
    const s = await server();
    const happen = createHappen();
    const agent = createAgentNode('agent', { model: provider.model(s), happen });
    s.enqueue({ status: 429, headers: { 'retry-after': '0' } }, { content: 'after the retry' });
    const answer = await agent.think('hello');
    expect(answer.content).toBe('after the retry');
    expect(s.calls).toHaveLength(2);
    expect(agent.conversation().turns.map((t) => t.content)).toEqual(['hello', 'after the retry']);

    s.enqueue({ status: 429 }, { status: 429 }, { status: 429 });
    await expect(agent.think('again')).rejects.toMatchObject({ name: 'HappenError', code: 'MODEL_QUOTA' });
    expect(agent.conversation().turns).toHaveLength(2);
  });

  test('a context-window overflow trims the oldest turns and keeps the system prompt', async () => {
    const s = await server();
    const happen = createHappen();
    const trimmed = observe(happen, 'agent.context.trimmed');
    const agent = createAgentNode('agent', { model: provider.model(s), happen, systemPrompt: 'Be brief.', contextWindow: { maxTokens: 120, reserveTokens: 20 } });
    for (let i = 1; i <= 6; i++) {
      s.enqueue({ content: `answer ${i}` });
      await agent.think(`question ${i}: ${'tell me more about this topic '.repeat(2)}`);
    }
    await happen.settled();
    expect(trimmed.length).toBeGreaterThan(0);
    expect(trimmed[0]!.payload).toMatchObject({ conversation: 'default', summarized: false });
    const last = s.calls.at(-1)!.messages;
    expect(last[0]).toMatchObject({ role: 'system', content: 'Be brief.' });
    expect(last.at(-1)!.content).toContain('question 6');
    expect(last.some((m) => m.content.includes('question 1:'))).toBe(false);
    expect(last[1]!.role).toBe('user');
    expect(last.reduce((n, m) => n + estimateTokens({ role: m.role, content: m.content }), 0)).toBeLessThanOrEqual(100);
  });

  test('a plan of three steps, created as structured output and executed end to end', async () => {
    const s = await server();
    const happen = createHappen();
    const progress = observe(happen, 'agent.plan.progress');
    const agent = createAgentNode('agent', { model: provider.model(s), happen, tools: tools(happen) });
    s.enqueue(
      provider.structured('plan', {
        steps: [
          { id: 'fetch', description: 'Fetch the sales figure', tool: 'lookup', arguments: { key: 'sales' } },
          { id: 'judge', description: 'Say whether it is good', dependsOn: ['fetch'] },
          { id: 'report', description: 'Write a one-line report', dependsOn: ['judge'] },
        ],
      }),
      { content: '42 is good.' },
      { content: 'Sales are 42: good.' },
    );
    const plan = await agent.createPlan('Report on sales');
    expect(plan.steps.map((step) => step.id)).toEqual(['fetch', 'judge', 'report']);
    if (provider.name === 'openai') expect(s.calls[0]!.body.response_format.json_schema.name).toBe('plan');
    else expect(s.calls[0]!.body.tool_choice).toEqual({ type: 'tool', name: 'plan' });

    const result = await agent.executePlan(plan);
    expect(result.status).toBe('completed');
    expect(result.steps.map((step) => step.output)).toEqual([{ key: 'sales', value: 42 }, '42 is good.', 'Sales are 42: good.']);
    expect(result.result).toBe('Sales are 42: good.');
    expect(s.calls).toHaveLength(3); // the tool step needed no model
    expect(s.calls[1]!.messages.at(-1)!.content).toContain('- fetch: {"key":"sales","value":42}');
    expect(s.calls[2]!.messages.at(-1)!.content).toContain('- judge: 42 is good.');
    await happen.settled();
    expect(progress.map((p) => `${p.payload.stepId} ${p.payload.status}`)).toEqual([
      'fetch started',
      'fetch completed',
      'judge started',
      'judge completed',
      'report started',
      'report completed',
    ]);
    const trace = happen.trace(plan.id);
    expect(trace.events.filter((e) => e.type === 'agent.plan.step')).toHaveLength(3);
    expect(trace.events.map((e) => e.type)).toContain('agent.plan.completed');
  });
});

describe('agent memory over the OpenAI embeddings protocol', () => {
  test('remember → recall round trip through a vector memory on openAIEmbeddings; the recalled note reaches the model', async () => {
    const s = await server();
    const happen = createHappen();
    const memory = vectorMemory({ embedder: openAIEmbeddings({ baseUrl: s.openaiBaseUrl, apiKey: KEY, model: 'embed-test' }) });
    const agent = createAgentNode('librarian', { happen, model: openAIChat({ baseUrl: s.openaiBaseUrl, apiKey: KEY, model: 'gpt-test' }), memory, recall: { limit: 1, minScore: 0.2 } });

    await agent.remember('The orders database lives in Frankfurt and is backed up nightly.');
    await agent.remember('The office plants need watering on Mondays.');
    const hits = await agent.recall('where does the orders database live', { limit: 2 });
    expect(hits[0]!.content).toContain('Frankfurt');
    expect(hits[0]!.score).toBeGreaterThan(hits[1]?.score ?? 0);

    s.enqueue({ content: 'It lives in Frankfurt.' });
    const answer = await agent.think('Where does the orders database live?');
    expect(answer.content).toBe('It lives in Frankfurt.');
    const chat = s.calls.filter((c) => c.provider === 'openai').at(-1)!;
    const notes = chat.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n');
    expect(notes).toContain('Frankfurt');
    expect(notes).not.toContain('plants'); // only the top memory, above minScore
    expect(s.calls.filter((c) => c.provider === 'embeddings').length).toBeGreaterThanOrEqual(4);

    // The same memory as events, from any node.
    createMemoryNode('memory', { happen, memory });
    const ui = happen.createNode('ui');
    const found = await ui.send<Array<{ content: string }>>('memory', { type: 'memory.retrieve', payload: { query: 'office plants watering', limit: 1 } }).return();
    expect(found[0]!.content).toContain('plants');
  });
});
