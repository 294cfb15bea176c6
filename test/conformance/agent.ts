/**
 * Agent nodes with the scripted model, in every runtime: thinks, tools as events, the causal web of a
 * think, streaming, context windows, recall, plans, bad input and persistence.
 */
import * as v from 'valibot';
import { createHappen, HappenError, type Happen, type HappenEvent, type TraceNode } from '../../src/index.ts';
import { createAgentNode, estimateTokens, fitContext, type ChatMessage, type MemoryHit, type MemoryItem, type MemorySystem, type ModelRequest } from '../../src/agent/index.ts';
import { scriptedModel } from '../../src/agent/models/scripted.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import { deepEqual, equal, isHappenError, ok, rejects, throws } from './assert.ts';
import { describe, test } from './harness.ts';

/** Events of the given types seen by an observer node, in arrival order. */
function observe(happen: Happen, pattern: string): HappenEvent[] {
  const seen: HappenEvent[] = [];
  happen.createNode(`observer-${pattern.replace(/\W/g, '')}`).on(pattern, (e) => void seen.push(e));
  return seen;
}

/** A weather tool the agent hosts and a lookup tool on a db node. */
function withTools(happen: Happen, lookups: unknown[] = []) {
  happen.createNode('db').on('tool.lookup', (e) => {
    lookups.push(e.payload);
    return { key: e.payload.key, value: 42 };
  });
  return [
    {
      name: 'weather',
      description: 'Current weather of a city',
      parameters: { type: 'object', required: ['city'], properties: { city: { type: 'string', minLength: 1 } }, additionalProperties: false },
      run: (args: { city: string }) => ({ city: args.city, celsius: 5 }),
    },
    {
      name: 'lookup',
      description: 'Looks a key up in the database',
      parameters: { type: 'object', required: ['key'], properties: { key: { type: 'string' } } },
      node: 'db',
    },
  ];
}

/** The message roles and contents a model request carried, compactly. */
function shape(request: ModelRequest): string[] {
  return request.messages.map((m) => `${m.role}:${m.content}${m.toolCalls ? `[${m.toolCalls.map((c) => c.name).join(',')}]` : ''}${m.toolCallId ? `#${m.toolCallId}` : ''}`);
}

/** A tiny in-test memory: retrieve scores items by the share of query words they contain. */
function wordMemory(items: string[]): MemorySystem & { queries: string[] } {
  const stored: MemoryItem[] = items.map((content, i) => ({ id: `m${i}`, content, createdAt: i, updatedAt: i }));
  const queries: string[] = [];
  return {
    queries,
    async store(content) {
      const item = { id: `m${stored.length}`, content, createdAt: stored.length, updatedAt: stored.length };
      stored.push(item);
      return item;
    },
    async retrieve(query, options = {}) {
      queries.push(query);
      const words = query.toLowerCase().split(/\W+/).filter(Boolean);
      const hits: MemoryHit[] = stored
        .map((item) => ({ ...item, score: words.filter((w) => item.content.toLowerCase().includes(w)).length / words.length }))
        .filter((h) => h.score > 0 && h.score >= (options.minScore ?? 0));
      return hits.sort((a, b) => b.score - a.score).slice(0, options.limit ?? 5);
    },
    async get(id) {
      return stored.find((i) => i.id === id);
    },
    async update() {
      throw new HappenError('runtime', 'MEMORY_NOT_FOUND', 'not here');
    },
    async forget() {
      return false;
    },
  };
}

function find(nodes: TraceNode[], predicate: (e: HappenEvent) => boolean): TraceNode | undefined {
  for (const node of nodes) {
    if (predicate(node.event)) return node;
    const inner = find(node.children, predicate);
    if (inner) return inner;
  }
  return undefined;
}

describe('agent', () => {
  test('a multi-turn conversation with two tool calls: what the model is sent, the answer, turn 2 carries turn 1', async () => {
    const happen = createHappen();
    const lookups: unknown[] = [];
    const model = scriptedModel([
      { toolCalls: [{ id: 'c1', name: 'weather', arguments: { city: 'Oslo' } }, { id: 'c2', name: 'lookup', arguments: { key: 'x' } }] },
      { content: 'Oslo is 5 degrees and x is 42.' },
      { content: 'You asked about Oslo.' },
    ]);
    const agent = createAgentNode('agent', { model, happen, systemPrompt: 'You are terse.', tools: withTools(happen, lookups) });
    const answer = await agent.think('Weather in Oslo, and x?');
    equal(answer.content, 'Oslo is 5 degrees and x is 42.');
    equal(answer.rounds, 2);
    deepEqual(answer.toolCalls, [
      { id: 'c1', name: 'weather', arguments: { city: 'Oslo' }, result: { city: 'Oslo', celsius: 5 } },
      { id: 'c2', name: 'lookup', arguments: { key: 'x' }, result: { key: 'x', value: 42 } },
    ]);
    deepEqual(lookups, [{ key: 'x' }], 'the db node ran the lookup with the arguments');
    deepEqual(shape(model.calls[0]!), ['system:You are terse.', 'user:Weather in Oslo, and x?']);
    deepEqual(model.calls[0]!.tools!.map((t) => t.name), ['weather', 'lookup']);
    deepEqual(model.calls[0]!.tools![0]!.parameters, withTools(createHappen())[0]!.parameters);
    deepEqual(shape(model.calls[1]!), [
      'system:You are terse.',
      'user:Weather in Oslo, and x?',
      'assistant:[weather,lookup]',
      'tool:{"city":"Oslo","celsius":5}#c1',
      'tool:{"key":"x","value":42}#c2',
    ]);
    ok(answer.usage.inputTokens > 0 && answer.usage.outputTokens > 0, 'usage is summed over the rounds');

    const second = await agent.think('Which city did I ask about?');
    equal(second.content, 'You asked about Oslo.');
    deepEqual(shape(model.calls[2]!), [
      'system:You are terse.',
      'user:Weather in Oslo, and x?',
      'assistant:[weather,lookup]',
      'tool:{"city":"Oslo","celsius":5}#c1',
      'tool:{"key":"x","value":42}#c2',
      'assistant:Oslo is 5 degrees and x is 42.',
      'user:Which city did I ask about?',
    ]);
    equal(agent.conversation().turns.length, 7);
    ok(second.correlationId !== answer.correlationId, 'each think is its own causal tree');
  });

  test('the causal web of a think: think event → tool sends → their replies, tokens and the answer', async () => {
    const happen = createHappen();
    const model = scriptedModel([
      { toolCalls: [{ id: 'c1', name: 'weather', arguments: { city: 'Oslo' } }, { id: 'c2', name: 'lookup', arguments: { key: 'x' } }] },
      { content: 'Cold and 42.' },
    ]);
    const agent = createAgentNode('agent', { model, happen, tools: withTools(happen) });
    const answer = await agent.think('Weather and x?');
    await happen.settled();
    const trace = happen.trace(answer.correlationId);
    equal(trace.roots.length, 1);
    const root = trace.roots[0]!;
    equal(root.event.type, 'agent.think');
    equal(root.event.id, answer.eventId);
    const childTypes = root.children.map((c) => c.event.type);
    deepEqual(childTypes, ['tool.weather', 'tool.lookup', 'agent.token', 'agent.token', 'agent.token', 'agent.answer', 'happen.reply']);
    const weather = root.children[0]!;
    equal(weather.event.context.target, 'agent');
    deepEqual(weather.event.payload, { city: 'Oslo' });
    deepEqual(weather.children.map((c) => [c.event.type, c.event.payload.ok]), [['happen.reply', true]]);
    const lookup = root.children[1]!;
    equal(lookup.event.context.target, 'db');
    deepEqual(lookup.children[0]!.event.payload, { ok: true, value: { key: 'x', value: 42 } });
    deepEqual(root.children.filter((c) => c.event.type === 'agent.answer')[0]!.event.payload.content, 'Cold and 42.');
    ok(trace.events.every((e) => e.context.causal.correlationId === answer.correlationId));
  });

  test('tokens arrive as ordered agent.token events that add up to the answer; stream: false sends none', async () => {
    const happen = createHappen();
    const tokens = observe(happen, 'agent.token');
    const answers = observe(happen, 'agent.answer');
    const model = scriptedModel([{ content: 'one two  three\nfour' }, { content: 'quiet answer' }]);
    const agent = createAgentNode('agent', { model, happen });
    const answer = await agent.think('count');
    await happen.settled();
    deepEqual(tokens.map((t) => t.payload.text), ['one ', 'two  ', 'three\n', 'four']);
    deepEqual(tokens.map((t) => t.payload.index), [0, 1, 2, 3]);
    ok(tokens.every((t) => t.payload.thinkId === answer.eventId && t.context.causal.causationId === answer.eventId), 'each token is caused by the think');
    equal(answers.length, 1);
    equal(answers[0]!.payload.content, 'one two  three\nfour');
    equal(typeof model.calls[0]!.onToken, 'function');

    await agent.think('again', { stream: false });
    await happen.settled();
    equal(tokens.length, 4, 'no tokens without streaming');
    equal(model.calls[1]!.onToken, undefined);
    equal(answers.length, 2, 'the answer is still an event');
  });

  test('invalid tool arguments, malformed JSON and a throwing tool reach the model as errors; the agent still answers', async () => {
    const happen = createHappen();
    let runs = 0;
    const model = scriptedModel([
      {
        toolCalls: [
          { id: 'bad-args', name: 'weather', arguments: { town: 'Oslo' } },
          { id: 'bad-json', name: 'weather', arguments: '{"city": "Os' },
          { id: 'throws', name: 'explode', arguments: {} },
        ],
      },
      { content: 'Sorry, the tools failed.' },
    ]);
    const agent = createAgentNode('agent', {
      model,
      happen,
      tools: [
        { name: 'weather', parameters: { type: 'object', required: ['city'], properties: { city: { type: 'string' } }, additionalProperties: false }, run: () => void runs++ },
        { name: 'explode', parameters: { type: 'object' }, run: () => { throw new Error('kaboom'); } },
      ],
    });
    const answer = await agent.think('try');
    equal(answer.content, 'Sorry, the tools failed.');
    equal(runs, 0, 'the tool never ran with invalid arguments');
    deepEqual(answer.toolCalls.map((c) => c.error?.code), ['TOOL_ARGS_INVALID', 'TOOL_ARGS_INVALID', 'HANDLER_ERROR']);
    equal(answer.toolCalls[1]!.arguments, '{"city": "Os', 'unparsable arguments are kept as text');
    const turns = model.calls[1]!.messages.filter((m) => m.role === 'tool');
    deepEqual(turns.map((t) => t.toolCallId), ['bad-args', 'bad-json', 'throws']);
    const errors = turns.map((t) => JSON.parse(t.content).error);
    equal(errors[0].code, 'TOOL_ARGS_INVALID');
    ok(errors[0].message.includes('city') && errors[0].message.includes('town'), `the issues are named: ${errors[0].message}`);
    ok(errors[1].message.includes('not valid JSON'), errors[1].message);
    deepEqual(errors[2], { code: 'HANDLER_ERROR', message: 'kaboom' });
  });

  test('a tool the model made up, a tool node that is missing and a slow tool: errors for the model', async () => {
    const happen = createHappen();
    happen.createNode('slow').on('tool.slow', () => new Promise((resolve) => setTimeout(() => resolve('late'), 200)));
    const model = scriptedModel([
      { toolCalls: [{ id: 'a', name: 'teleport', arguments: {} }, { id: 'b', name: 'gone', arguments: {} }, { id: 'c', name: 'slow', arguments: {} }] },
      (request) => ({ content: `saw ${request.messages.filter((m) => m.role === 'tool').length} tool errors` }),
    ]);
    const agent = createAgentNode('agent', {
      model,
      happen,
      tools: [
        { name: 'gone', parameters: { type: 'object' }, node: 'nobody' },
        { name: 'slow', parameters: { type: 'object' }, node: 'slow', timeoutMs: 20 },
      ],
    });
    const answer = await agent.think('go');
    equal(answer.content, 'saw 3 tool errors');
    deepEqual(answer.toolCalls.map((c) => c.error?.code), ['TOOL_NOT_FOUND', 'NO_SUCH_NODE', 'TIMEOUT']);
    ok(JSON.parse(model.calls[1]!.messages[2]!.content).error.message.includes('gone, slow'), 'the model is told which tools exist');
    await happen.settled(); // the slow tool finishes after its caller gave up
  });

  test('useTool validates and calls like the model would; registerTool checks definitions and can be undone', async () => {
    const happen = createHappen();
    const agent = createAgentNode('agent', { model: scriptedModel([]), happen, tools: withTools(happen) });
    deepEqual(await agent.useTool('weather', { city: 'Rome' }), { city: 'Rome', celsius: 5 });
    deepEqual(await agent.useTool('lookup', { key: 'k' }), { key: 'k', value: 42 });
    isHappenError(await rejects(agent.useTool('nope', {})), 'runtime', 'TOOL_NOT_FOUND');
    const invalid = await rejects(agent.useTool('weather', { city: 3 }));
    isHappenError(invalid, 'validation', 'TOOL_ARGS_INVALID');
    deepEqual(invalid.details.issues.map((i: { path: string }) => i.path), ['/city']);
    const remove = agent.registerTool({ name: 'fail', parameters: { type: 'object' }, run: () => { throw new HappenError('runtime', 'OUT_OF_STOCK', 'none left'); } });
    isHappenError(await rejects(agent.useTool('fail')), 'runtime', 'OUT_OF_STOCK');
    remove();
    isHappenError(await rejects(agent.useTool('fail')), 'runtime', 'TOOL_NOT_FOUND');
    deepEqual(agent.tools().map((t) => t.name), ['weather', 'lookup']);

    isHappenError(throws(() => agent.registerTool({ name: 'weather', parameters: {}, node: 'db' })), 'validation', 'DUPLICATE_TOOL');
    isHappenError(throws(() => agent.registerTool({ name: 'has space', parameters: {}, node: 'db' })), 'validation', 'INVALID_TOOL');
    isHappenError(throws(() => agent.registerTool({ name: 'both', parameters: {}, node: 'db', run: () => 1 })), 'validation', 'INVALID_TOOL');
    isHappenError(throws(() => agent.registerTool({ name: 'neither', parameters: {} })), 'validation', 'INVALID_TOOL');
    isHappenError(throws(() => agent.registerTool({ name: 'noparams', node: 'db' } as never)), 'validation', 'INVALID_TOOL');
    isHappenError(throws(() => createAgentNode('agent2', { model: scriptedModel([]), happen, tools: [{ name: '', parameters: {}, node: 'x' }] })), 'validation', 'INVALID_TOOL');
    ok(happen.getNode('agent2') === undefined, 'a rejected config leaves no node behind');
  });

  test('a Standard Schema validates tool arguments instead of the JSON Schema, and its output reaches run', async () => {
    const happen = createHappen();
    const agent = createAgentNode('agent', {
      model: scriptedModel([]),
      happen,
      tools: [
        {
          name: 'shout',
          parameters: { type: 'object', properties: { text: { type: 'string' } } },
          schema: v.object({ text: v.pipe(v.string(), v.minLength(1), v.toUpperCase()) }),
          run: (args: { text: string }) => `${args.text}!`,
        },
      ],
    });
    equal(await agent.useTool('shout', { text: 'hi' }), 'HI!');
    isHappenError(await rejects(agent.useTool('shout', { text: '' })), 'validation', 'TOOL_ARGS_INVALID');
  });

  test('a direct send to a hosted tool is validated too', async () => {
    const happen = createHappen();
    createAgentNode('agent', { model: scriptedModel([]), happen, tools: withTools(happen) });
    const ui = happen.createNode('ui');
    isHappenError(await rejects(ui.send('agent', { type: 'tool.weather', payload: { city: 7 } }).return()), 'validation', 'TOOL_ARGS_INVALID');
    deepEqual(await ui.send('agent', { type: 'tool.weather', payload: { city: 'Bergen' } }).return(), { city: 'Bergen', celsius: 5 });
  });

  test('a model that keeps calling tools fails the think with AGENT_TOOL_LOOP and leaves the conversation unchanged', async () => {
    const happen = createHappen();
    const model = scriptedModel([], { fallback: () => ({ toolCalls: [{ name: 'weather', arguments: { city: 'Oslo' } }] }) });
    const agent = createAgentNode('agent', { model, happen, maxToolRounds: 2, tools: withTools(happen) });
    isHappenError(await rejects(agent.think('loop')), 'runtime', 'AGENT_TOOL_LOOP');
    equal(model.calls.length, 3, 'two rounds of tool calls, then the third request still wanted tools');
    deepEqual(agent.conversation(), { turns: [] });
  });

  test('model errors reject the think with their code; an exhausted script says so', async () => {
    const happen = createHappen();
    const model = scriptedModel([{ error: new HappenError('runtime', 'MODEL_QUOTA', 'quota exhausted') }]);
    const agent = createAgentNode('agent', { model, happen });
    isHappenError(await rejects(agent.think('hi')), 'runtime', 'MODEL_QUOTA');
    isHappenError(await rejects(agent.think('hi')), 'runtime', 'MODEL_SCRIPT_EXHAUSTED');
    deepEqual(agent.conversation().turns, []);
  });

  test('an aborted think rejects with AGENT_ABORTED', async () => {
    const happen = createHappen();
    const agent = createAgentNode('agent', { model: scriptedModel([{ content: 'never' }]), happen });
    const controller = new AbortController();
    controller.abort();
    isHappenError(await rejects(agent.think('hi', { signal: controller.signal })), 'runtime', 'AGENT_ABORTED');
    const later = new AbortController();
    const slow = createAgentNode('slow', { model: scriptedModel([() => new Promise((resolve) => setTimeout(() => resolve({ content: 'late' }), 300))]), happen });
    const pending = slow.think('hi', { signal: later.signal });
    setTimeout(() => later.abort(), 10);
    isHappenError(await rejects(pending), 'runtime', 'AGENT_ABORTED');
    await happen.settled(); // the model's answer still arrives, after the caller stopped waiting
    equal(slow.conversation().turns.length, 0, 'an aborted think adds nothing to the conversation');
  });

  test('any node can ask an agent with agent.think; a bad payload gets a typed validation error and the node keeps answering', async () => {
    const happen = createHappen();
    createAgentNode('agent', { model: scriptedModel([{ content: 'hello ui' }, { content: 'in a side conversation' }]), happen });
    const ui = happen.createNode('ui');
    for (const payload of [undefined, {}, { input: 42 }, { input: '' }, { input: 'x', conversation: '' }, { input: 'x', stream: 'yes' }]) {
      const error = await rejects(ui.send('agent', { type: 'agent.think', payload }).return());
      isHappenError(error, 'validation', 'INVALID_PAYLOAD');
    }
    const answer = await ui.send('agent', { type: 'agent.think', payload: { input: 'hi' } }).return();
    equal(answer.content, 'hello ui');
    const side = await ui.send('agent', { type: 'agent.think', payload: { input: 'hi', conversation: 'side' } }).return();
    equal(side.content, 'in a side conversation');
    const agent = happen.getNode('agent') as ReturnType<typeof createAgentNode>;
    equal(agent.conversation('side').turns.length, 2);
    equal(agent.forgetConversation('side'), true);
    deepEqual(agent.conversation('side'), { turns: [] });
    equal(agent.forgetConversation('side'), false);
    equal(agent.conversation().turns.length, 2, 'other conversations stay');
  });

  test('createAgentNode rejects a bad config with INVALID_CONFIG', () => {
    const happen = createHappen();
    const model = scriptedModel([]);
    for (const config of [
      {},
      { model: {} },
      { model, contextWindow: { maxTokens: 0 } },
      { model, contextWindow: { maxTokens: 100, reserveTokens: 100 } },
      { model, contextWindow: { maxTokens: 100, strategy: 'forget' } },
      { model, maxToolRounds: -1 },
      { model, recall: -2 },
      { model, memory: { store: 1 } },
      { model, timeout: 0 },
    ]) {
      isHappenError(throws(() => createAgentNode('bad', { happen, ...(config as object) } as never), JSON.stringify(config)), 'validation', 'INVALID_CONFIG');
    }
  });
});

describe('agent context window', () => {
  const sys: ChatMessage = { role: 'system', content: 'system prompt' };
  const turn = (role: ChatMessage['role'], content: string, extra: Partial<ChatMessage> = {}): ChatMessage => ({ role, content, ...extra });

  test('estimateTokens: ceil(UTF-8 bytes / 4), plus 4 per message and the tool calls', () => {
    equal(estimateTokens(''), 0);
    equal(estimateTokens('abcd'), 1);
    equal(estimateTokens('abcde'), 2);
    equal(estimateTokens('éé'), 1, 'two 2-byte characters');
    equal(estimateTokens('日本'), 2, 'two 3-byte characters');
    equal(estimateTokens('😀'), 1, 'a surrogate pair is 4 bytes');
    equal(estimateTokens({ role: 'user', content: 'abcd' }), 5);
    equal(estimateTokens({ role: 'assistant', content: '', toolCalls: [{ id: 'c', name: 'abcd', arguments: '{"a":1}' }] }), 4 + 1 + 2 + 1);
  });

  test('fitContext keeps the system prompt and the newest turns, drops the oldest whole, never splits a tool call from its results', () => {
    const history = [
      turn('user', 'old question one'),
      turn('assistant', 'old answer one'),
      turn('user', 'question two'),
      turn('assistant', '', { toolCalls: [{ id: 't', name: 'tool', arguments: '{"q":"a long argument text"}' }] }),
      turn('tool', 'a long tool result text here', { toolCallId: 't', name: 'tool' }),
      turn('assistant', 'answer two'),
      turn('user', 'newest question'),
    ];
    const all = fitContext([sys], history, 1_000);
    equal(all.messages.length, 8);
    deepEqual(all.dropped, []);
    equal(all.tokens, [sys, ...history].reduce((n, m) => n + estimateTokens(m), 0));

    // Room for the newest exchange and "answer two" plus the tool pair, but not question two: the
    // pair and the answer would open the history without their question, so they go too.
    const cost = (ms: ChatMessage[]) => ms.reduce((n, m) => n + estimateTokens(m), 0);
    const tight = fitContext([sys], history, cost([sys, ...history.slice(3)]));
    deepEqual(tight.messages, [sys, history[6]]);
    equal(tight.dropped.length, 6);
    const fits = fitContext([sys], history, cost([sys, ...history.slice(2)]));
    deepEqual(fits.messages, [sys, ...history.slice(2)]);
    deepEqual(fits.dropped, history.slice(0, 2));
    ok(fits.tokens <= cost([sys, ...history.slice(2)]));

    const overflow = throws(() => fitContext([sys], history, cost([sys, history[6]!]) - 1));
    isHappenError(overflow, 'validation', 'CONTEXT_OVERFLOW');
    equal(overflow.details.tokens, cost([sys, history[6]!]));
    // The exchange in progress (the newest user turn and the tool turns after it) is never dropped.
    const inProgress = [...history, turn('assistant', '', { toolCalls: [{ id: 'u', name: 'tool', arguments: '{}' }] }), turn('tool', 'r', { toolCallId: 'u' })];
    const kept = fitContext([sys], inProgress, cost([sys, ...inProgress.slice(6)]));
    deepEqual(kept.messages, [sys, ...inProgress.slice(6)]);
  });

  test('an agent trims the oldest turns to fit, keeps its system prompt and says so with agent.context.trimmed', async () => {
    const happen = createHappen();
    const trimmed = observe(happen, 'agent.context.trimmed');
    const model = scriptedModel([], { fallback: (request) => ({ content: `answer ${request.messages.length}` }) });
    const agent = createAgentNode('agent', { model, happen, systemPrompt: 'Be brief.', contextWindow: { maxTokens: 80, reserveTokens: 20 } });
    for (let i = 1; i <= 6; i++) await agent.think(`question number ${i} with some padding words`);
    await happen.settled();
    const last = model.calls[5]!;
    equal(last.messages[0]!.content, 'Be brief.', 'the system prompt stays first');
    equal(last.messages[last.messages.length - 1]!.content, 'question number 6 with some padding words');
    ok(!last.messages.some((m) => m.content.includes('question number 1')), 'the oldest turn is gone');
    ok(last.messages.reduce((n, m) => n + estimateTokens(m), 0) <= 60, 'the request fits the budget');
    ok(trimmed.length > 0, 'trimming was reported');
    const first = trimmed[0]!;
    equal(first.payload.conversation, 'default');
    equal(first.payload.summarized, false);
    ok(first.payload.dropped >= 2 && first.payload.tokens <= 60, JSON.stringify(first.payload));
    equal(first.context.causal.causationId, first.context.causal.correlationId, 'caused by the think event');
    ok(agent.conversation().turns.length < 12, 'dropped turns leave the stored conversation');
    equal(agent.conversation().turns[0]!.role, 'user');
  });

  test("strategy 'summarize' folds the dropped turns into a summary the next requests carry", async () => {
    const happen = createHappen();
    const trimmed = observe(happen, 'agent.context.trimmed');
    const summaries: ModelRequest[] = [];
    const model = scriptedModel([], {
      fallback: (request) => {
        if (request.messages[0]!.content.startsWith('You keep the running summary')) {
          summaries.push(request);
          return { content: `SUMMARY(${summaries.length})` };
        }
        return { content: `ok ${request.messages.length}` };
      },
    });
    const agent = createAgentNode('agent', { model, happen, systemPrompt: 'Sys.', contextWindow: { maxTokens: 200, reserveTokens: 10, strategy: 'summarize' } });
    for (let i = 1; i <= 8; i++) await agent.think(`turn ${i}: remember the number ${i * 111} please, ${'and keep it in mind '.repeat(4)}`);
    await happen.settled();
    ok(summaries.length >= 2, 'the model was asked to summarise, more than once');
    ok(summaries[0]!.messages[1]!.content.includes('user: turn 1: remember the number 111 please'), summaries[0]!.messages[1]!.content);
    equal(summaries[0]!.tools, undefined, 'no tools in a summary request');
    ok(summaries[1]!.messages[1]!.content.startsWith('Previous summary:\nSUMMARY(1)\n'), 'the previous summary is folded in');
    ok(!summaries[1]!.messages[1]!.content.includes('turn 1:'), 'a turn is summarised once');
    const last = model.calls[model.calls.length - 1]!;
    equal(last.messages[0]!.content, 'Sys.');
    equal(last.messages[1]!.role, 'system');
    equal(last.messages[1]!.content, `Summary of the earlier conversation:\nSUMMARY(${summaries.length})`);
    equal(agent.conversation().summary, `SUMMARY(${summaries.length})`);
    ok(trimmed.length > 0 && trimmed.every((t) => t.payload.summarized === true));
  });

  test('CONTEXT_OVERFLOW when the system prompt and the new input alone do not fit; the conversation is unchanged', async () => {
    const happen = createHappen();
    const model = scriptedModel([{ content: 'fine' }]);
    const agent = createAgentNode('agent', { model, happen, systemPrompt: 'Sys.', contextWindow: { maxTokens: 40 } });
    await agent.think('short');
    const error = await rejects(agent.think('far too long '.repeat(20)));
    isHappenError(error, 'validation', 'CONTEXT_OVERFLOW');
    equal(model.calls.length, 1, 'the model was not called');
    equal(agent.conversation().turns.length, 2);
  });
});

describe('agent memory', () => {
  test('recall puts the top memories for the input in context as a system note', async () => {
    const happen = createHappen();
    const memory = wordMemory(['Sarah prefers tea', 'The office is in Oslo', 'Sarah works in sales', 'Unrelated fact']);
    const model = scriptedModel([{ content: 'tea' }, { content: 'no memories' }]);
    const agent = createAgentNode('agent', { model, happen, systemPrompt: 'Sys.', memory, recall: 2 });
    await agent.think('What does Sarah drink?');
    deepEqual(memory.queries, ['What does Sarah drink?']);
    const note = model.calls[0]!.messages[1]!;
    equal(note.role, 'system');
    equal(note.content, 'Relevant memories, most relevant first:\n- Sarah prefers tea\n- Sarah works in sales');
    equal(model.calls[0]!.messages[2]!.content, 'What does Sarah drink?');
    await agent.think('zzz');
    deepEqual(shape(model.calls[1]!).slice(0, 2), ['system:Sys.', 'user:What does Sarah drink?'], 'no note when nothing matches');
  });

  test('remember and recall go to the memory; recall: 0 turns retrieval off; no memory → AGENT_NO_MEMORY', async () => {
    const happen = createHappen();
    const memory = wordMemory([]);
    const model = scriptedModel([{ content: 'ok' }]);
    const agent = createAgentNode('agent', { model, happen, memory, recall: 0 });
    const item = await agent.remember('The launch is on Friday');
    equal(item.content, 'The launch is on Friday');
    deepEqual((await agent.recall('launch Friday')).map((h) => h.content), ['The launch is on Friday']);
    await agent.think('When is the launch?');
    equal(model.calls[0]!.messages.length, 1, 'no memory note with recall off');
    const plain = createAgentNode('plain', { model: scriptedModel([]), happen });
    isHappenError(await rejects(plain.remember('x')), 'runtime', 'AGENT_NO_MEMORY');
    isHappenError(await rejects(plain.recall('x')), 'runtime', 'AGENT_NO_MEMORY');
  });

  test('a conversation survives recreating the agent on the same storage', async () => {
    const storage = memoryStorage();
    const first = createHappen();
    const agent = createAgentNode('agent', { model: scriptedModel([{ content: 'Nice to meet you, Ada.' }]), happen: first, storage, systemPrompt: 'Sys.' });
    await agent.ready;
    await agent.think('My name is Ada.');
    await first.settled();

    const second = createHappen();
    const model = scriptedModel([{ content: 'Your name is Ada.' }]);
    const again = createAgentNode('agent', { model, happen: second, storage, systemPrompt: 'Sys.' });
    await again.ready;
    deepEqual(again.conversation().turns.map((t) => t.content), ['My name is Ada.', 'Nice to meet you, Ada.']);
    equal((await again.think('What is my name?')).content, 'Your name is Ada.');
    deepEqual(shape(model.calls[0]!), ['system:Sys.', 'user:My name is Ada.', 'assistant:Nice to meet you, Ada.', 'user:What is my name?']);
  });
});

describe('agent plans', () => {
  const threeSteps = {
    steps: [
      { id: 'fetch', description: 'Fetch the sales figure', tool: 'lookup', arguments: { key: 'sales' } },
      { id: 'analyse', description: 'Say whether the figure is good', dependsOn: ['fetch'] },
      { id: 'report', description: 'Write a one-line report', dependsOn: ['analyse'] },
    ],
  };

  test('createPlan asks for structured output and returns the validated plan', async () => {
    const happen = createHappen();
    const model = scriptedModel([{ json: threeSteps }]);
    const agent = createAgentNode('agent', { model, happen, tools: withTools(happen) });
    const plan = await agent.createPlan('Report on sales');
    equal(plan.goal, 'Report on sales');
    deepEqual(plan.steps, threeSteps.steps);
    equal(typeof plan.id, 'string');
    equal(model.calls[0]!.responseFormat!.name, 'plan');
    deepEqual((model.calls[0]!.responseFormat!.schema as { required: string[] }).required, ['steps']);
    ok(model.calls[0]!.messages[0]!.content.includes('lookup'), 'the planner is told about the tools');
    equal(model.calls[0]!.messages[1]!.content, 'Goal: Report on sales');
    equal(happen.trace(plan.id).roots[0]!.event.type, 'agent.plan.create', 'creating the plan is an event');
  });

  test('an invalid plan is sent back with its issues once; still invalid → PLAN_INVALID with the issues', async () => {
    const happen = createHappen();
    const model = scriptedModel([
      {
        json: {
          steps: [
            { id: 'a', description: 'A', dependsOn: ['b'] },
            { id: 'b', description: 'B', dependsOn: ['a'] },
            { id: 'c', description: 'C', tool: 'teleport' },
            { id: 'd', description: 'D', tool: 'lookup', arguments: { key: 5 } },
          ],
        },
      },
      { json: threeSteps },
      { content: 'not json at all' },
      { json: { steps: [{ id: 'x', description: 'X' }, { id: 'x', description: 'again' }, { id: 'y', description: 'Y', dependsOn: ['nope'] }] } },
    ]);
    const agent = createAgentNode('agent', { model, happen, tools: withTools(happen) });
    const plan = await agent.createPlan('Report');
    deepEqual(plan.steps, threeSteps.steps, 'the second answer was used');
    const retry = model.calls[1]!.messages;
    equal(retry[retry.length - 2]!.role, 'assistant');
    const feedback = retry[retry.length - 1]!.content;
    ok(feedback.includes('cycle') && feedback.includes('teleport') && feedback.includes('/steps/3/arguments/key'), feedback);

    const error = await rejects(agent.createPlan('Report again'));
    isHappenError(error, 'validation', 'PLAN_INVALID');
    const issues = error.details.issues.map((i: { path: string; message: string }) => `${i.path} ${i.message}`).join('\n');
    ok(issues.includes('/steps/1/id') && issues.includes('/steps/2/dependsOn/0'), issues);
    ok(model.calls[3]!.messages.some((m) => m.content.includes('is not JSON')), 'the non-JSON answer was reported back');
    isHappenError(await rejects(agent.createPlan('')), 'validation', 'INVALID_PAYLOAD');
  });

  test('a plan of three steps runs end to end: a tool step, dependency outputs, progress in order, one correlation', async () => {
    const happen = createHappen();
    const progress = observe(happen, 'agent.plan.progress');
    const done = observe(happen, 'agent.plan.{completed,failed}');
    const model = scriptedModel([
      { json: threeSteps },
      (request) => ({ content: request.messages.at(-1)!.content.includes('- fetch: {"key":"sales","value":42}') ? '42 is good' : 'missing input' }),
      (request) => ({ content: request.messages.at(-1)!.content.includes('- analyse: 42 is good') ? 'Sales: 42, good.' : 'missing input' }),
    ]);
    const agent = createAgentNode('agent', { model, happen, tools: withTools(happen) });
    const plan = await agent.createPlan('Report on sales');
    const result = await agent.executePlan(plan);
    await happen.settled();
    deepEqual(result, {
      planId: plan.id,
      status: 'completed',
      steps: [
        { id: 'fetch', status: 'completed', output: { key: 'sales', value: 42 } },
        { id: 'analyse', status: 'completed', output: '42 is good' },
        { id: 'report', status: 'completed', output: 'Sales: 42, good.' },
      ],
      result: 'Sales: 42, good.',
    });
    deepEqual(progress.map((p) => `${p.payload.index}/${p.payload.total} ${p.payload.stepId} ${p.payload.status}`), [
      '0/3 fetch started',
      '0/3 fetch completed',
      '1/3 analyse started',
      '1/3 analyse completed',
      '2/3 report started',
      '2/3 report completed',
    ]);
    equal(done.length, 1);
    equal(done[0]!.type, 'agent.plan.completed');
    deepEqual(done[0]!.payload, result);
    const trace = happen.trace(plan.id);
    const types = trace.events.map((e) => e.type);
    for (const type of ['agent.plan.create', 'agent.plan.execute', 'agent.plan.step', 'tool.lookup', 'agent.plan.progress', 'agent.token', 'agent.plan.completed']) {
      ok(types.includes(type), `${type} is in the plan's trace`);
    }
    equal(types.filter((t) => t === 'agent.plan.step').length, 3);
    const execute = find(trace.roots, (e) => e.type === 'agent.plan.execute')!;
    const lookup = find([execute], (e) => e.type === 'tool.lookup');
    ok(lookup !== undefined && lookup.event.context.causal.path.length >= 3, 'the tool call hangs under its step under the execution');
  });

  test('a failing step fails the plan and skips its dependants; independent steps still run', async () => {
    const happen = createHappen();
    const progress = observe(happen, 'agent.plan.progress');
    const done = observe(happen, 'agent.plan.{completed,failed}');
    const model = scriptedModel([{ content: 'independent work done' }]);
    const agent = createAgentNode('agent', {
      model,
      happen,
      tools: [{ name: 'explode', parameters: { type: 'object' }, run: () => { throw new HappenError('runtime', 'BOOM', 'it broke'); } }],
    });
    const result = await agent.executePlan({
      id: 'plan-1',
      goal: 'Try',
      steps: [
        { id: 'a', description: 'Break', tool: 'explode' },
        { id: 'b', description: 'Needs a', dependsOn: ['a'] },
        { id: 'c', description: 'Needs b', dependsOn: ['b'] },
        { id: 'd', description: 'Independent' },
      ],
    });
    await happen.settled();
    equal(result.status, 'failed');
    deepEqual(result.steps.map((s) => [s.id, s.status]), [['a', 'failed'], ['b', 'skipped'], ['c', 'skipped'], ['d', 'completed']]);
    equal(result.steps[0]!.error!.code, 'BOOM');
    equal(result.result, 'independent work done');
    deepEqual(progress.map((p) => `${p.payload.stepId} ${p.payload.status}`), ['a started', 'a failed', 'b skipped', 'c skipped', 'd started', 'd completed']);
    equal(done[0]!.type, 'agent.plan.failed');
    ok(happen.trace('plan-1').events.length > 8, 'the run is traced under the plan id');
  });

  test('executePlan refuses an invalid plan before running anything', async () => {
    const happen = createHappen();
    const model = scriptedModel([]);
    const agent = createAgentNode('agent', { model, happen, tools: withTools(happen) });
    for (const plan of [
      { id: 'p', goal: 'g', steps: [] },
      { id: 'p', goal: 'g', steps: [{ id: 'a', description: 'x', dependsOn: ['a'] }] },
      { id: 'p', goal: 'g', steps: [{ id: 'a', description: 'x', tool: 'weather', arguments: {} }] },
      { id: '', goal: 'g', steps: [{ id: 'a', description: 'x' }] },
      { goal: 'g', steps: [{ id: 'a', description: 'x' }] },
    ]) {
      isHappenError(await rejects(agent.executePlan(plan as never)), 'validation', 'PLAN_INVALID');
    }
    equal(model.calls.length, 0);
    const ui = happen.createNode('ui');
    const sent = await rejects(ui.send('agent', { type: 'agent.plan.execute', payload: { plan: { id: 'p', goal: 'g', steps: [{ id: 'a', description: 'x', tool: 'nope' }] } } }).return());
    isHappenError(sent, 'validation', 'PLAN_INVALID');
  });
});

describe('scripted model', () => {
  test('replies in order, records the requests, streams word by word, throws scripted errors, then runs out', async () => {
    const model = scriptedModel([
      { content: 'a b' },
      { toolCalls: [{ name: 't', arguments: { x: 1 } }, { id: 'own', name: 'u', arguments: 'raw' }] },
      () => ({ content: 'from a function', usage: { inputTokens: 1, outputTokens: 2 } }),
      { error: new HappenError('runtime', 'MODEL_UNAVAILABLE', 'down') },
    ], { name: 'test-model' });
    equal(model.name, 'test-model');
    const tokens: string[] = [];
    const first = await model.complete({ messages: [{ role: 'user', content: 'hi' }], onToken: (t) => tokens.push(t) });
    deepEqual(tokens, ['a ', 'b']);
    equal(first.finishReason, 'stop');
    const second = await model.complete({ messages: [] });
    deepEqual(second.toolCalls, [{ id: 'call_1', name: 't', arguments: '{"x":1}' }, { id: 'own', name: 'u', arguments: 'raw' }]);
    equal(second.finishReason, 'tool_calls');
    deepEqual((await model.complete({ messages: [] })).usage, { inputTokens: 1, outputTokens: 2 });
    isHappenError(await rejects(model.complete({ messages: [] })), 'runtime', 'MODEL_UNAVAILABLE');
    isHappenError(await rejects(model.complete({ messages: [] })), 'runtime', 'MODEL_SCRIPT_EXHAUSTED');
    equal(model.calls.length, 5);
    equal(model.remaining, 0);
    deepEqual(model.calls[0]!.messages, [{ role: 'user', content: 'hi' }]);
    isHappenError(await rejects(scriptedModel([{ content: 5 as never }]).complete({ messages: [] })), 'runtime', 'MODEL_BAD_RESPONSE');
  });
});
