import { afterEach, describe, expect, test } from 'vitest';
import { HappenError } from '../../src/core/errors.ts';
import type { ChatMessage, Model, ModelRequest, ToolSpec } from '../../src/agent/model.ts';
import { anthropicMessages, type AnthropicMessagesOptions } from '../../src/agent/models/anthropic.ts';
import { retryAfterMs } from '../../src/agent/models/http.ts';
import { openAIChat, openAIEmbeddings, type OpenAIChatOptions } from '../../src/agent/models/openai.ts';
import { sseEvents, type SseEvent } from '../../src/agent/models/sse.ts';
import { embedText, startLlmServer, type LlmServer, type LlmServerOptions } from '../llm-server.mjs';
import { freePort } from '../free-port.mjs';

const KEY = 'sk-test-0123456789abcdef';
const servers: LlmServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function server(options: LlmServerOptions = {}): Promise<LlmServer> {
  const s = await startLlmServer({ apiKey: KEY, ...options });
  servers.push(s);
  return s;
}

const openai = (s: LlmServer, options: Partial<OpenAIChatOptions> = {}) => openAIChat({ baseUrl: s.openaiBaseUrl, apiKey: KEY, model: 'gpt-test', retryDelayMs: 5, ...options });
const anthropic = (s: LlmServer, options: Partial<AnthropicMessagesOptions> = {}) => anthropicMessages({ baseUrl: s.anthropicBaseUrl, apiKey: KEY, model: 'claude-test', retryDelayMs: 5, ...options });

/** The HappenError `promise` rejects with (fails the test when it resolves or rejects with something else). */
async function failure(promise: Promise<unknown>): Promise<HappenError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(HappenError);
  return outcome.error as HappenError;
}

const weather: ToolSpec = { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
const time: ToolSpec = { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } };
const ask = (content: string, extra: Partial<ModelRequest> = {}): ModelRequest => ({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content }], ...extra });

/** A conversation in which the assistant called two tools and both answered. */
const afterTools: ChatMessage[] = [
  { role: 'system', content: 'You check the weather.' },
  { role: 'user', content: 'Weather and time in Oslo?' },
  {
    role: 'assistant',
    content: '',
    toolCalls: [
      { id: 'call_w', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      { id: 'call_t', name: 'get_time', arguments: '{"zone":"Europe/Oslo"}' },
    ],
  },
  { role: 'tool', content: '{"temp":4}', toolCallId: 'call_w', name: 'get_weather' },
  { role: 'tool', content: '{"time":"12:00"}', toolCallId: 'call_t', name: 'get_time' },
];

async function streamed(model: Model, request: ModelRequest) {
  const tokens: string[] = [];
  const response = await model.complete({ ...request, onToken: (t) => tokens.push(t) });
  return { tokens, response };
}

describe('[node] agent models: OpenAI-compatible chat completions', () => {
  test('a plain answer: the wire request, the answer and its usage', async () => {
    const s = await server();
    s.enqueue({ content: 'Hello from the server', usage: { inputTokens: 12, outputTokens: 4 } });
    const model = openai(s);
    expect(model.name).toBe('openai:gpt-test');
    const response = await model.complete(ask('hi', { maxTokens: 50, temperature: 0.2 }));
    expect(response).toEqual({ content: 'Hello from the server', toolCalls: [], finishReason: 'stop', usage: { inputTokens: 12, outputTokens: 4 } });
    const [call] = s.calls;
    expect(call!.provider).toBe('openai');
    expect(call!.stream).toBe(false);
    expect(call!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(call!.body).toEqual({ model: 'gpt-test', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }], max_tokens: 50, temperature: 0.2 });
  });

  test('streaming: tokens arrive in order and concatenate to the content; usage from the last chunk', async () => {
    const s = await server();
    s.enqueue({ content: 'The quick brown fox jumps over the lazy dog' });
    const { tokens, response } = await streamed(openai(s), ask('a sentence'));
    expect(tokens).toEqual(['The ', 'quick ', 'brown ', 'fox ', 'jumps ', 'over ', 'the ', 'lazy ', 'dog']);
    expect(response.content).toBe(tokens.join(''));
    expect(response.finishReason).toBe('stop');
    expect(response.usage).toEqual({ inputTokens: expect.any(Number), outputTokens: expect.any(Number) });
    expect(s.calls[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  test('tool calls: tools go out as functions, two calls come back (whole and streamed, arguments reassembled)', async () => {
    const s = await server();
    const calls = [
      { id: 'call_a', name: 'get_weather', arguments: { city: 'Oslo', detail: 'a longer argument that spans fragments' } },
      { id: 'call_b', name: 'get_time', arguments: { zone: 'Europe/Oslo' } },
    ];
    s.enqueue({ toolCalls: calls }, { content: 'Checking.', toolCalls: calls });
    const whole = await openai(s).complete(ask('weather?', { tools: [weather, time] }));
    const { tokens, response } = await streamed(openai(s), ask('weather?', { tools: [weather, time] }));
    for (const r of [whole, response]) {
      expect(r.finishReason).toBe('tool_calls');
      expect(r.toolCalls).toEqual(calls.map((c) => ({ id: c.id, name: c.name, arguments: JSON.stringify(c.arguments) })));
    }
    expect(whole.content).toBe('');
    expect(tokens.join('')).toBe('Checking.');
    expect(s.calls[0]!.body.tools).toEqual([
      { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: weather.parameters } },
      { type: 'function', function: { name: 'get_time', parameters: time.parameters } },
    ]);
  });

  test('tool results go back as assistant tool_calls and tool turns with tool_call_id', async () => {
    const s = await server();
    s.enqueue({ content: 'It is 4 degrees and noon.' });
    const response = await openai(s).complete({ messages: afterTools, tools: [weather, time] });
    expect(response.content).toBe('It is 4 degrees and noon.');
    const { body, messages } = s.calls[0]!;
    expect(body.messages.slice(2)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_w', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
          { id: 'call_t', type: 'function', function: { name: 'get_time', arguments: '{"zone":"Europe/Oslo"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_w', content: '{"temp":4}' },
      { role: 'tool', tool_call_id: 'call_t', content: '{"time":"12:00"}' },
    ]);
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'tool']);
  });

  test('structured output asks for a strict json_schema response_format', async () => {
    const s = await server();
    s.enqueue({ content: '{"steps":["a","b"]}' });
    const schema = { type: 'object', properties: { steps: { type: 'array', items: { type: 'string' } } }, required: ['steps'], additionalProperties: false };
    const response = await openai(s).complete(ask('plan', { responseFormat: { name: 'plan', schema } }));
    expect(JSON.parse(response.content)).toEqual({ steps: ['a', 'b'] });
    expect(s.calls[0]!.body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'plan', schema, strict: true } });
  });

  test('finish reasons and missing ids as compatible servers send them', async () => {
    const s = await server();
    s.enqueue({ content: 'cut', finishReason: 'length' }, { toolCalls: [{ name: 'get_time', arguments: '{}' }], finishReason: 'stop' });
    expect((await openai(s).complete(ask('long'))).finishReason).toBe('length');
    // Ollama says 'stop' on a turn that calls tools.
    expect((await openai(s).complete(ask('time?'))).finishReason).toBe('tool_calls');
  });

  test('malformed conversations are refused before anything is sent', async () => {
    const s = await server();
    const model = openai(s);
    const noId = await failure(model.complete({ messages: [{ role: 'user', content: 'x' }, { role: 'tool', content: 'r' }] }));
    expect([noId.category, noId.code]).toEqual(['validation', 'MODEL_BAD_REQUEST']);
    const badRole = await failure(model.complete({ messages: [{ role: 'robot' as 'user', content: 'x' }] }));
    expect(badRole.code).toBe('MODEL_BAD_REQUEST');
    const notArray = await failure(model.complete({ messages: 'hi' as unknown as ChatMessage[] }));
    expect(notArray.code).toBe('MODEL_BAD_REQUEST');
    expect(s.calls).toHaveLength(0);
    expect(() => openAIChat({ model: '' })).toThrow(HappenError);
  });

  test('a 400 from the server is MODEL_BAD_REQUEST with its message, not retried', async () => {
    const s = await server();
    // A tool turn answering a call the assistant never made: the server refuses it as OpenAI does.
    const error = await failure(openai(s).complete({ messages: [{ role: 'user', content: 'x' }, { role: 'tool', content: 'r', toolCallId: 'nope' }] }));
    expect([error.category, error.code]).toEqual(['validation', 'MODEL_BAD_REQUEST']);
    expect(error.message).toContain("messages with role 'tool' must be a response");
    expect(error.details).toMatchObject({ status: 400, provider: 'openai', attempts: 1 });
  });

  test('an injected fetch carries every request', async () => {
    const s = await server();
    const seen: string[] = [];
    const model = openai(s, { fetch: (input, init) => (seen.push(String(input)), fetch(input, init)), headers: { 'x-trace': 'abc' } });
    await model.complete(ask('hi'));
    expect(seen).toEqual([`${s.openaiBaseUrl}/chat/completions`]);
    expect(s.calls[0]!.headers['x-trace']).toBe('abc');
  });
});

describe('[node] agent models: Anthropic messages', () => {
  test('a plain answer: system on top, default max_tokens, the API headers', async () => {
    const s = await server();
    s.enqueue({ content: 'Hi there', usage: { inputTokens: 9, outputTokens: 2 } });
    const model = anthropic(s);
    expect(model.name).toBe('anthropic:claude-test');
    const response = await model.complete({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'system', content: 'Be kind.' }, { role: 'user', content: 'hi' }], temperature: 0 });
    expect(response).toEqual({ content: 'Hi there', toolCalls: [], finishReason: 'stop', usage: { inputTokens: 9, outputTokens: 2 } });
    const { body, headers } = s.calls[0]!;
    expect(headers['x-api-key']).toBe(KEY);
    expect(headers['anthropic-version']).toBe('2023-06-01');
    expect(headers.authorization).toBeUndefined();
    expect(body).toEqual({ model: 'claude-test', max_tokens: 1024, system: 'Be brief.\n\nBe kind.', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], temperature: 0 });
  });

  test('streaming: text deltas in order; tool input reassembled from input_json_delta fragments', async () => {
    const s = await server();
    const args = { city: 'Oslo', detail: 'a longer argument that spans fragments' };
    s.enqueue({ content: 'Let me check the weather for you', toolCalls: [{ id: 'toolu_1', name: 'get_weather', arguments: args }, { id: 'toolu_2', name: 'get_time', arguments: {} }] });
    const { tokens, response } = await streamed(anthropic(s), ask('weather?', { tools: [weather, time] }));
    expect(tokens).toEqual(['Let ', 'me ', 'check ', 'the ', 'weather ', 'for ', 'you']);
    expect(response.content).toBe(tokens.join(''));
    expect(response.toolCalls).toEqual([
      { id: 'toolu_1', name: 'get_weather', arguments: JSON.stringify(args) },
      { id: 'toolu_2', name: 'get_time', arguments: '{}' },
    ]);
    expect(response.finishReason).toBe('tool_calls');
    expect(response.usage).toEqual({ inputTokens: expect.any(Number), outputTokens: expect.any(Number) });
    expect(s.calls[0]!.body).toMatchObject({ stream: true, tools: [{ name: 'get_weather', description: 'Weather for a city', input_schema: weather.parameters }, { name: 'get_time', input_schema: time.parameters }] });
  });

  test('tool calls come back whole; stop reasons map to the neutral ones', async () => {
    const s = await server();
    s.enqueue({ toolCalls: [{ id: 'toolu_x', name: 'get_time', arguments: { zone: 'UTC' } }] }, { content: 'trunc', finishReason: 'length' });
    const r = await anthropic(s).complete(ask('time?', { tools: [time] }));
    expect(r).toMatchObject({ content: '', finishReason: 'tool_calls', toolCalls: [{ id: 'toolu_x', name: 'get_time', arguments: '{"zone":"UTC"}' }] });
    expect((await anthropic(s).complete(ask('long'))).finishReason).toBe('length');
  });

  test('tool results: tool_use blocks with parsed input, results merged into one user turn that alternates', async () => {
    const s = await server();
    s.enqueue({ content: 'Four degrees at noon.' });
    const messages: ChatMessage[] = [...afterTools, { role: 'user', content: 'And tomorrow?' }];
    const response = await anthropic(s).complete({ messages, tools: [weather, time] });
    expect(response.content).toBe('Four degrees at noon.');
    const { body, messages: seen } = s.calls[0]!;
    expect(body.system).toBe('You check the weather.');
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather and time in Oslo?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_w', name: 'get_weather', input: { city: 'Oslo' } },
          { type: 'tool_use', id: 'call_t', name: 'get_time', input: { zone: 'Europe/Oslo' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_w', content: '{"temp":4}' },
          { type: 'tool_result', tool_use_id: 'call_t', content: '{"time":"12:00"}' },
          { type: 'text', text: 'And tomorrow?' },
        ],
      },
    ]);
    expect(seen.map((m) => [m.role, m.toolCallId ?? null])).toEqual([['system', null], ['user', null], ['assistant', null], ['tool', 'call_w'], ['tool', 'call_t'], ['user', null]]);
  });

  test('consecutive same-role turns are merged; an unparseable tool argument is sent as {}', async () => {
    const s = await server();
    await anthropic(s).complete({
      messages: [
        { role: 'user', content: 'one' },
        { role: 'user', content: 'two' },
        { role: 'assistant', content: 'thinking', toolCalls: [{ id: 't1', name: 'get_time', arguments: '{not json' }] },
        { role: 'user', content: 'hurry' },
        { role: 'tool', content: 'error: bad arguments', toolCallId: 't1' },
      ],
    });
    // The user's interjection joins the tool result's turn, after it (the API wants tool_result first).
    expect(s.calls[0]!.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'thinking' }, { type: 'tool_use', id: 't1', name: 'get_time', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'error: bad arguments' }, { type: 'text', text: 'hurry' }] },
    ]);
  });

  test('structured output is a forced tool whose input is the answer (whole and streamed)', async () => {
    const s = await server();
    const schema = { type: 'object', properties: { steps: { type: 'array', items: { type: 'string' } } }, required: ['steps'] };
    const plan = { steps: ['gather the data', 'write the report', 'send it'] };
    s.enqueue({ toolCalls: [{ name: 'plan', arguments: plan }] }, { toolCalls: [{ name: 'plan', arguments: plan }] });
    const whole = await anthropic(s).complete(ask('plan it', { responseFormat: { name: 'plan', schema } }));
    const { tokens, response } = await streamed(anthropic(s), ask('plan it', { responseFormat: { name: 'plan', schema } }));
    for (const r of [whole, response]) {
      expect(JSON.parse(r.content)).toEqual(plan);
      expect(r.toolCalls).toEqual([]);
      expect(r.finishReason).toBe('stop');
    }
    expect(tokens.length).toBeGreaterThan(1);
    expect(tokens.join('')).toBe(response.content);
    expect(s.calls[0]!.body.tools).toEqual([{ name: 'plan', description: expect.any(String), input_schema: schema }]);
    expect(s.calls[0]!.body.tool_choice).toEqual({ type: 'tool', name: 'plan' });
  });

  test('structured output with a non-object schema is wrapped as { value } and unwrapped', async () => {
    const s = await server();
    const schema = { type: 'array', items: { type: 'string' } };
    s.enqueue({ toolCalls: [{ name: 'list', arguments: { value: ['a', 'b'] } }] }, { toolCalls: [{ name: 'list', arguments: { value: ['c'] } }] });
    const whole = await anthropic(s).complete(ask('list', { responseFormat: { name: 'list', schema } }));
    expect(JSON.parse(whole.content)).toEqual(['a', 'b']);
    expect(s.calls[0]!.body.tools[0].input_schema).toEqual({ type: 'object', properties: { value: schema }, required: ['value'] });
    const { tokens, response } = await streamed(anthropic(s), ask('list', { responseFormat: { name: 'list', schema } }));
    expect(JSON.parse(response.content)).toEqual(['c']);
    expect(tokens.join('')).toBe(response.content);
  });

  test('a missing structured answer is MODEL_BAD_RESPONSE', async () => {
    const s = await server();
    s.enqueue({ content: 'I would rather chat.' });
    const error = await failure(anthropic(s).complete(ask('plan', { responseFormat: { name: 'plan', schema: { type: 'object' } } })));
    expect([error.category, error.code]).toEqual(['runtime', 'MODEL_BAD_RESPONSE']);
  });

  test('overloaded (529) counts as 5xx: retried, then the answer', async () => {
    const s = await server();
    s.enqueue({ status: 529 }, { content: 'back' });
    expect((await anthropic(s).complete(ask('hi'))).content).toBe('back');
    expect(s.calls).toHaveLength(2);
  });

  test('an error event mid-stream rejects after the tokens before it', async () => {
    const s = await server();
    s.enqueue({ content: 'partial answer', streamError: { type: 'overloaded_error', message: 'Overloaded' } });
    const tokens: string[] = [];
    const error = await failure(anthropic(s).complete({ ...ask('hi'), onToken: (t) => tokens.push(t) }));
    expect([error.category, error.code]).toEqual(['network', 'MODEL_UNAVAILABLE']);
    expect(error.message).toContain('Overloaded');
    expect(tokens.join('')).toBe('partial answer');
    expect(s.calls).toHaveLength(1); // a stream that started is not repeated
  });

  test('a billing error is MODEL_QUOTA at once', async () => {
    const s = await server();
    s.enqueue({ status: 402, body: { type: 'error', error: { type: 'billing_error', message: 'Your credit balance is too low' } } });
    const error = await failure(anthropic(s).complete(ask('hi')));
    expect([error.category, error.code]).toEqual(['runtime', 'MODEL_QUOTA']);
    expect(s.calls).toHaveLength(1);
  });

  test('a wrong key is MODEL_AUTH', async () => {
    const s = await server();
    const error = await failure(anthropic(s, { apiKey: 'sk-ant-wrong-key-000000' }).complete(ask('hi')));
    expect([error.category, error.code]).toEqual(['security', 'MODEL_AUTH']);
    expect(error.message).toContain('invalid x-api-key');
    expect(error.message).not.toContain('sk-ant-wrong-key-000000');
    expect(error.details).toMatchObject({ status: 401, provider: 'anthropic', attempts: 1, type: 'authentication_error' });
  });
});

describe('[node] agent models: HTTP failures', () => {
  test('429 with Retry-After: waits as told, then succeeds', async () => {
    const s = await server();
    s.enqueue({ status: 429, headers: { 'retry-after': '1' } }, { content: 'after the wait' });
    const started = Date.now();
    const response = await openai(s, { retryDelayMs: 1 }).complete(ask('hi'));
    const elapsed = Date.now() - started;
    expect(response.content).toBe('after the wait');
    expect(s.calls).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(5000);
  });

  test('Retry-After is capped by maxRetryDelayMs', async () => {
    const s = await server();
    s.enqueue({ status: 503, headers: { 'retry-after': '3600' } }, { content: 'soon' });
    const started = Date.now();
    expect((await anthropic(s, { maxRetryDelayMs: 50 }).complete(ask('hi'))).content).toBe('soon');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('429 insufficient_quota is MODEL_QUOTA without a retry', async () => {
    const s = await server();
    s.enqueue({ status: 429, body: { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } } });
    const error = await failure(openai(s).complete(ask('hi')));
    expect([error.category, error.code]).toEqual(['runtime', 'MODEL_QUOTA']);
    expect(error.message).toContain('HTTP 429');
    expect(error.message).toContain('exceeded your current quota');
    expect(error.details).toMatchObject({ status: 429, provider: 'openai', attempts: 1 });
    expect(s.calls).toHaveLength(1);
  });

  test('429 on every attempt is MODEL_QUOTA after the retries', async () => {
    const s = await server();
    s.enqueue({ status: 429 }, { status: 429 }, { status: 429 });
    const error = await failure(openai(s).complete(ask('hi')));
    expect([error.category, error.code]).toEqual(['runtime', 'MODEL_QUOTA']);
    expect(error.details).toMatchObject({ attempts: 3 });
    expect(s.calls).toHaveLength(3);
  });

  test('500 on retries+1 attempts is MODEL_UNAVAILABLE', async () => {
    const s = await server();
    s.enqueue({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { content: 'never reached' });
    const error = await failure(openai(s, { retries: 3 }).complete(ask('hi')));
    expect([error.category, error.code]).toEqual(['network', 'MODEL_UNAVAILABLE']);
    expect(error.message).toContain('HTTP 500');
    expect(error.details).toEqual({ status: 500, provider: 'openai', attempts: 4, type: 'server_error' });
    expect(s.calls).toHaveLength(4);
  });

  test('401 is MODEL_AUTH at once, and the key never appears in the message', async () => {
    const s = await server();
    const wrong = 'sk-wrong-key-abcdef123456';
    // The server echoes the key it was given, as OpenAI does.
    const error = await failure(openai(s, { apiKey: wrong }).complete(ask('hi')));
    expect([error.category, error.code]).toEqual(['security', 'MODEL_AUTH']);
    expect(error.message).toContain('HTTP 401');
    expect(error.message).toContain('Incorrect API key provided');
    expect(error.message).not.toContain(wrong);
    expect(JSON.stringify(error.details)).not.toContain(wrong);
    expect(error.details).toMatchObject({ status: 401, attempts: 1 });
    const plain = 'localsecret0987654321'; // not shaped like a key: only the exact scrub can catch it
    expect((await failure(openai(s, { apiKey: plain }).complete(ask('hi')))).message).not.toContain(plain);
    const forbidden = await server();
    forbidden.enqueue({ status: 403 });
    expect((await failure(openai(forbidden).complete(ask('hi')))).code).toBe('MODEL_AUTH');
    expect(forbidden.calls).toHaveLength(1);
  });

  test('a stalled server is MODEL_TIMEOUT after timeoutMs', async () => {
    const s = await server();
    s.enqueue({ content: 'too late', delayMs: 3000 });
    const started = Date.now();
    const error = await failure(openai(s, { timeoutMs: 150, retries: 0 }).complete(ask('hi')));
    expect([error.category, error.code]).toEqual(['timeout', 'MODEL_TIMEOUT']);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  test('a stream is timed by its silences: a slow steady stream finishes, one that stalls times out', async () => {
    const s = await server();
    s.enqueue({ content: 'one two three four five six', chunkDelayMs: 60 }, { content: 'one two three', chunkDelayMs: 1500 });
    const started = Date.now();
    const { response } = await streamed(anthropic(s, { timeoutMs: 400 }), ask('slow'));
    expect(response.content).toBe('one two three four five six');
    expect(Date.now() - started).toBeGreaterThan(400); // longer than the timeout in total
    const error = await failure(openai(s, { timeoutMs: 300, retries: 0 }).complete({ ...ask('stall'), onToken: () => {} }));
    expect(error.code).toBe('MODEL_TIMEOUT');
  });

  test('abort: before sending, while waiting, and during a retry wait are MODEL_ABORTED', async () => {
    const s = await server();
    const model = openai(s);
    const pre = await failure(model.complete({ ...ask('hi'), signal: AbortSignal.abort() }));
    expect([pre.category, pre.code]).toEqual(['runtime', 'MODEL_ABORTED']);
    expect(s.calls).toHaveLength(0);

    s.enqueue({ content: 'slow', delayMs: 3000 });
    const waiting = new AbortController();
    setTimeout(() => waiting.abort(), 50);
    const started = Date.now();
    expect((await failure(model.complete({ ...ask('hi'), signal: waiting.signal }))).code).toBe('MODEL_ABORTED');
    expect(Date.now() - started).toBeLessThan(1500);

    s.enqueue({ status: 503, headers: { 'retry-after': '10' } });
    const retrying = new AbortController();
    setTimeout(() => retrying.abort(), 100);
    expect((await failure(openai(s, { maxRetryDelayMs: 20_000 }).complete({ ...ask('hi'), signal: retrying.signal }))).code).toBe('MODEL_ABORTED');
  });

  test('malformed or unexpected bodies are MODEL_BAD_RESPONSE', async () => {
    const s = await server();
    s.enqueue({ status: 200, body: '{"choices": [' }, { status: 200, body: { unexpected: true } }, { status: 200, body: '{"type":"message","content":"not an array"}' });
    const notJson = await failure(openai(s).complete(ask('hi')));
    expect([notJson.category, notJson.code]).toEqual(['runtime', 'MODEL_BAD_RESPONSE']);
    expect((await failure(openai(s).complete(ask('hi')))).code).toBe('MODEL_BAD_RESPONSE');
    expect((await failure(anthropic(s).complete(ask('hi')))).code).toBe('MODEL_BAD_RESPONSE');
    expect(s.calls).toHaveLength(3); // not retried
  });

  test('a stream that ends before its finish is MODEL_UNAVAILABLE (both providers)', async () => {
    const s = await server();
    s.enqueue({ content: 'half an', truncate: true }, { content: 'half an', truncate: true });
    expect((await failure(openai(s).complete({ ...ask('hi'), onToken: () => {} }))).code).toBe('MODEL_UNAVAILABLE');
    expect((await failure(anthropic(s).complete({ ...ask('hi'), onToken: () => {} }))).code).toBe('MODEL_UNAVAILABLE');
  });

  test('nobody listening: retried, then MODEL_UNAVAILABLE', async () => {
    const port = await freePort();
    const seen: number[] = [];
    const model = openAIChat({ baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: KEY, model: 'm', retries: 2, retryDelayMs: 5, fetch: (i, init) => (seen.push(1), fetch(i, init)) });
    const error = await failure(model.complete(ask('hi')));
    expect([error.category, error.code]).toEqual(['network', 'MODEL_UNAVAILABLE']);
    expect(error.details).toEqual({ provider: 'openai', attempts: 3 });
    expect(seen).toHaveLength(3);
  });

  test('an error thrown by onToken surfaces unchanged', async () => {
    const s = await server();
    s.enqueue({ content: 'a b c' });
    const boom = new RangeError('ui went away');
    await expect(openai(s).complete({ ...ask('hi'), onToken: () => { throw boom; } })).rejects.toBe(boom);
  });

  test('Retry-After forms: seconds, HTTP date, retry-after-ms, garbage', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now)).toBe(5000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Wed, 31 Dec 2025 00:00:00 GMT' }), now)).toBe(0);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
  });
});

describe('[node] agent models: OpenAI embeddings', () => {
  const texts = ['the cat sat on the mat', 'a dog in the park', 'stock prices fell', 'the cat on a mat', 'rain tomorrow'];

  test('vectors come back in input order, in batches of batchSize', async () => {
    const s = await server({ reverseEmbeddings: true });
    const embedder = openAIEmbeddings({ baseUrl: s.openaiBaseUrl, apiKey: KEY, model: 'embed-test', batchSize: 2 });
    expect(embedder.name).toBe('openai:embed-test');
    const vectors = await embedder.embed(texts);
    expect(vectors).toEqual(texts.map(embedText));
    expect(s.calls.map((c) => c.body.input)).toEqual([texts.slice(0, 2), texts.slice(2, 4), texts.slice(4)]);
    expect(s.calls[0]!.body).toMatchObject({ model: 'embed-test', encoding_format: 'float' });
    expect(s.calls[0]!.provider).toBe('embeddings');
    // The server's vectors make similar texts close: the two cat sentences beat cat vs stocks.
    const dot = (a: number[], b: number[]) => a.reduce((n, x, i) => n + x * b[i]!, 0);
    expect(dot(vectors[0]!, vectors[3]!)).toBeGreaterThan(dot(vectors[0]!, vectors[2]!));
  });

  test('the default batch is 96 inputs; no texts is no request', async () => {
    const s = await server();
    const embedder = openAIEmbeddings({ baseUrl: s.openaiBaseUrl, apiKey: KEY, model: 'e' });
    const many = Array.from({ length: 100 }, (_, i) => `text number ${i}`);
    expect(await embedder.embed(many)).toHaveLength(100);
    expect(s.calls.map((c) => c.body.input.length)).toEqual([96, 4]);
    expect(await embedder.embed([])).toEqual([]);
    expect(s.calls).toHaveLength(2);
  });

  test('bad input and refusals are typed errors', async () => {
    const s = await server();
    const embedder = openAIEmbeddings({ baseUrl: s.openaiBaseUrl, apiKey: KEY, model: 'e' });
    expect((await failure(embedder.embed([1 as unknown as string]))).code).toBe('MODEL_BAD_REQUEST');
    expect((await failure(embedder.embed('text' as unknown as string[]))).code).toBe('MODEL_BAD_REQUEST');
    expect((await failure(embedder.embed(['']))).code).toBe('MODEL_BAD_REQUEST'); // the server refuses empty input
    const wrongKey = openAIEmbeddings({ baseUrl: s.openaiBaseUrl, apiKey: 'sk-nope-nope-nope', model: 'e' });
    const auth = await failure(wrongKey.embed(['x']));
    expect(auth.code).toBe('MODEL_AUTH');
    expect(auth.message).not.toContain('sk-nope-nope-nope');
  });
});

/** A Response whose body arrives in exactly these chunks (strings or raw bytes). */
function chunked(chunks: Array<string | Uint8Array>): Response {
  const encoder = new TextEncoder();
  let i = 0;
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i >= chunks.length) return controller.close();
        const c = chunks[i++]!;
        controller.enqueue(typeof c === 'string' ? encoder.encode(c) : c);
      },
    }),
  );
}

async function events(response: Response): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const e of sseEvents(response)) out.push(e);
  return out;
}

describe('[node] agent models: SSE parsing', () => {
  test('events split anywhere across chunks, CRLF and a CRLF split between chunks', async () => {
    const got = await events(chunked(['event: a\r', '\ndata: {"x"', ':1}\r\n\r', '\ndata: two\n', '\n']));
    expect(got).toEqual([{ event: 'a', data: '{"x":1}' }, { data: 'two' }]);
  });

  test('CR line endings, comments, multi-line data, fields without a space, unknown fields', async () => {
    const got = await events(chunked([': keep-alive\r\rdata:line one\rdata: line two\rid: 7\rretry: 10\r\r', 'event:ping\ndata\n\n']));
    expect(got).toEqual([{ data: 'line one\nline two' }, { event: 'ping', data: '' }]);
  });

  test('a multi-byte character split between chunks; a blank event is not dispatched; a last event without its blank line is', async () => {
    const bytes = new TextEncoder().encode('data: héllo ☃\n\n');
    const cut = bytes.indexOf(0xe2) + 1; // inside the snowman's three bytes
    const got = await events(chunked([bytes.slice(0, cut), bytes.slice(cut), 'event: lonely\n\n', 'data: tail']));
    expect(got).toEqual([{ data: 'héllo ☃' }, { data: 'tail' }]);
  });

  test('an empty body yields nothing', async () => {
    expect(await events(new Response(null))).toEqual([]);
    expect(await events(chunked([]))).toEqual([]);
  });
});
