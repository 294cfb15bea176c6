/**
 * A local LLM server for tests (hono on @hono/node-server): OpenAI chat completions (`POST /v1/chat/completions`)
 * and embeddings (`POST /v1/embeddings`), and Anthropic messages (`POST /v1/messages`), each with the
 * provider's request checks, error bodies and SSE streaming (content word by word, tool-call arguments in
 * fragments). Replies are queued by the test or computed by `respond`; every call is recorded.
 * CORS is open so a Chromium page on another loopback origin can call it. Types: llm-server.d.mts.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { cors } from 'hono/cors';

const encoder = new TextEncoder();
const DIMS = 64;

/** Starts the server; resolves once it is listening on 127.0.0.1. */
export async function startLlmServer(options = {}) {
  const calls = [];
  const queue = [];
  let seq = 0;
  const id = (prefix) => `${prefix}${(++seq).toString(36).padStart(6, '0')}${Math.random().toString(36).slice(2, 10)}`;

  const app = new Hono();
  app.use('*', cors({ origin: '*', exposeHeaders: ['retry-after', 'retry-after-ms', 'request-id', 'x-request-id'] }));
  app.onError((error, c) => c.json({ error: { message: `llm-server: ${error.message}`, type: 'server_error' } }, 500));
  app.get('/health', (c) => c.json({ ok: true }));

  app.post('/v1/chat/completions', async (c) => {
    const denied = checkKey(c.req.header('authorization')?.replace(/^Bearer\s+/i, ''), 'openai');
    if (denied) return denied;
    const body = await jsonBody(c.req.raw);
    if (body === undefined) return openAIError(400, 'We could not parse the JSON body of your request.', 'invalid_request_error');
    const invalid = checkOpenAI(body);
    if (invalid) return openAIError(400, invalid, 'invalid_request_error');
    const call = record(c, 'openai', body, openAIMessages(body.messages), body.stream === true);
    const reply = await nextReply(call);
    if (await delayed(reply, c)) return new Response(null, { status: 499 });
    if (isFault(reply)) return fault(reply, 'openai');
    return body.stream === true ? openAIStream(body, reply, c) : c.json(openAICompletion(body, reply));
  });

  app.post('/v1/embeddings', async (c) => {
    const denied = checkKey(c.req.header('authorization')?.replace(/^Bearer\s+/i, ''), 'openai');
    if (denied) return denied;
    const body = await jsonBody(c.req.raw);
    const input = typeof body?.input === 'string' ? [body.input] : body?.input;
    if (typeof body?.model !== 'string') return openAIError(400, "you must provide a model parameter", 'invalid_request_error');
    if (!Array.isArray(input) || input.length === 0 || input.some((t) => typeof t !== 'string' || t === '')) {
      return openAIError(400, "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", 'invalid_request_error');
    }
    if (input.length > 2048) return openAIError(400, "'$.input' must have at most 2048 items", 'invalid_request_error');
    record(c, 'embeddings', body, [], false);
    let data = input.map((text, index) => ({ object: 'embedding', index, embedding: embedText(text) }));
    if (options.reverseEmbeddings) data = data.reverse(); // clients must order by `index`, not by position
    const tokens = input.reduce((n, t) => n + countTokens(t), 0);
    return c.json({ object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
  });

  app.post('/v1/messages', async (c) => {
    const denied = checkKey(c.req.header('x-api-key'), 'anthropic');
    if (denied) return denied;
    if (!c.req.header('anthropic-version')) return anthropicError(400, 'anthropic-version: header is required', 'invalid_request_error');
    const body = await jsonBody(c.req.raw);
    if (body === undefined) return anthropicError(400, 'There was an issue with the format of your request: the body is not valid JSON', 'invalid_request_error');
    const invalid = checkAnthropic(body);
    if (invalid) return anthropicError(400, invalid, 'invalid_request_error');
    const call = record(c, 'anthropic', body, anthropicMessages(body), body.stream === true);
    const reply = await nextReply(call);
    if (await delayed(reply, c)) return new Response(null, { status: 499 });
    if (isFault(reply)) return fault(reply, 'anthropic');
    return body.stream === true ? anthropicStream(body, reply, c) : c.json(anthropicMessage(body, reply));
  });

  function record(c, provider, body, messages, stream) {
    const call = { provider, body, messages, stream, headers: Object.fromEntries(c.req.raw.headers) };
    calls.push(call);
    return call;
  }

  async function nextReply(call) {
    if (queue.length > 0) return queue.shift();
    if (options.respond) return await options.respond(call);
    return { content: 'ok' };
  }

  function checkKey(given, provider) {
    if (options.apiKey === undefined || given === options.apiKey) return undefined;
    if (provider === 'anthropic') return anthropicError(401, 'invalid x-api-key', 'authentication_error');
    // OpenAI echoes the key it was given (partly masked); the full echo here proves clients scrub it.
    const message = given ? `Incorrect API key provided: ${given}. You can find your API key at https://platform.openai.com/account/api-keys.` : "You didn't provide an API key.";
    return openAIError(401, message, 'invalid_request_error', given ? 'invalid_api_key' : null);
  }

  // ---- OpenAI ----------------------------------------------------------------------------------

  function openAICompletion(body, reply) {
    const toolCalls = wireToolCalls(reply, 'call_');
    const message = { role: 'assistant', content: reply.content ?? (toolCalls.length ? null : ''), refusal: null, ...(toolCalls.length ? { tool_calls: toolCalls.map(({ id, name, args }) => ({ id, type: 'function', function: { name, arguments: args } })) } : {}) };
    return {
      id: id('chatcmpl-'),
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: openAIFinish(reply, toolCalls) }],
      usage: openAIUsage(usageOf(body.messages, reply)),
      system_fingerprint: 'fp_llm_server',
    };
  }

  function openAIStream(body, reply, c) {
    const base = { id: id('chatcmpl-'), object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: body.model, system_fingerprint: 'fp_llm_server' };
    const withUsage = body.stream_options?.include_usage === true;
    const toolCalls = wireToolCalls(reply, 'call_');
    const chunk = (delta, finish = null) => ({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(withUsage ? { usage: null } : {}) });
    const frames = [chunk({ role: 'assistant', content: '', refusal: null })];
    for (const word of words(reply.content ?? '')) frames.push(chunk({ content: word }));
    toolCalls.forEach((t, index) => {
      frames.push(chunk({ tool_calls: [{ index, id: t.id, type: 'function', function: { name: t.name, arguments: '' } }] }));
      for (const piece of fragments(t.args)) frames.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    });
    if (reply.streamError) {
      frames.push({ error: { message: reply.streamError.message, type: reply.streamError.type, param: null, code: null } });
    } else if (!reply.truncate) {
      frames.push(chunk({}, openAIFinish(reply, toolCalls)));
      if (withUsage) frames.push({ ...base, choices: [], usage: openAIUsage(usageOf(body.messages, reply)) });
    }
    const text = frames.map((f) => `data: ${JSON.stringify(f)}\n\n`);
    if (!reply.streamError && !reply.truncate) text.push('data: [DONE]\n\n');
    return sse(text, reply, c);
  }

  // ---- Anthropic -------------------------------------------------------------------------------

  function anthropicMessage(body, reply) {
    const toolCalls = wireToolCalls(reply, 'toolu_');
    const content = [];
    if (reply.content) content.push({ type: 'text', text: reply.content });
    for (const t of toolCalls) content.push({ type: 'tool_use', id: t.id, name: t.name, input: parseArgs(t.args) });
    const u = usageOf(anthropicMessages(body), reply);
    return {
      id: id('msg_'),
      type: 'message',
      role: 'assistant',
      model: body.model,
      content,
      stop_reason: anthropicStop(reply, toolCalls),
      stop_sequence: null,
      usage: { input_tokens: u.input, output_tokens: u.output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    };
  }

  function anthropicStream(body, reply, c) {
    const toolCalls = wireToolCalls(reply, 'toolu_');
    const u = usageOf(anthropicMessages(body), reply);
    const frames = [];
    const ev = (type, data) => frames.push(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    ev('message_start', { message: { id: id('msg_'), type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: u.input, output_tokens: 1 } } });
    let index = 0;
    if (reply.content) {
      ev('content_block_start', { index, content_block: { type: 'text', text: '' } });
      ev('ping', {});
      for (const word of words(reply.content)) ev('content_block_delta', { index, delta: { type: 'text_delta', text: word } });
      ev('content_block_stop', { index });
      index++;
    }
    for (const t of toolCalls) {
      ev('content_block_start', { index, content_block: { type: 'tool_use', id: t.id, name: t.name, input: {} } });
      ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } });
      for (const piece of fragments(t.args)) ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } });
      ev('content_block_stop', { index });
      index++;
    }
    if (reply.streamError) {
      ev('error', { error: { type: reply.streamError.type, message: reply.streamError.message } });
    } else if (!reply.truncate) {
      ev('message_delta', { delta: { stop_reason: anthropicStop(reply, toolCalls), stop_sequence: null }, usage: { output_tokens: u.output } });
      ev('message_stop', {});
    }
    return sse(frames, reply, c);
  }

  // ---- shared ----------------------------------------------------------------------------------

  /** Streams SSE frames, each split in two writes (so clients meet events cut mid-line), `chunkDelayMs` apart. */
  function sse(frames, reply, c) {
    const signal = c.req.raw.signal;
    const pieces = frames.flatMap((f) => {
      const cut = Math.max(1, Math.floor(f.length / 2));
      return [f.slice(0, cut), f.slice(cut)];
    });
    let i = 0;
    const stream = new ReadableStream({
      async pull(controller) {
        if (i >= pieces.length) return controller.close();
        if (reply.chunkDelayMs && i % 2 === 0 && i > 0 && (await sleep(reply.chunkDelayMs, signal))) return controller.close();
        controller.enqueue(encoder.encode(pieces[i++]));
      },
    });
    return new Response(stream, { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' } });
  }

  const timers = new Set();
  function sleep(ms, signal) {
    return new Promise((resolve) => {
      const done = (aborted) => {
        clearTimeout(timer);
        timers.delete(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(aborted);
      };
      const onAbort = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      timers.add(timer);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Waits `reply.delayMs`; true when the client went away meanwhile. */
  async function delayed(reply, c) {
    return reply?.delayMs ? sleep(reply.delayMs, c.req.raw.signal) : false;
  }

  function fault(reply, provider) {
    const headers = { 'content-type': 'application/json', ...(reply.headers ?? {}) };
    if (typeof reply.body === 'string') return new Response(reply.body, { status: reply.status, headers });
    const body = reply.body ?? defaultError(reply.status, provider);
    return new Response(JSON.stringify(body), { status: reply.status, headers });
  }

  const server = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 0, hostname: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    anthropicBaseUrl: url,
    calls,
    enqueue(...replies) {
      queue.push(...replies);
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      });
    },
  };
}

/** The deterministic embedding the server gives `text`: a hashed bag of lowercase words, 64 dims, L2-normalised. */
export function embedText(text) {
  const v = new Array(DIMS).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    let h = 2166136261; // FNV-1a
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619) >>> 0;
    v[h % DIMS] += 1;
  }
  const norm = Math.hypot(...v);
  return norm === 0 ? v.map((_, i) => (i === 0 ? 1 : 0)) : v.map((x) => x / norm);
}

function isFault(reply) {
  return typeof reply?.status === 'number';
}

async function jsonBody(request) {
  try {
    const value = await request.json();
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function openAIError(status, message, type, code = null) {
  return new Response(JSON.stringify({ error: { message, type, param: null, code } }), { status, headers: { 'content-type': 'application/json' } });
}

function anthropicError(status, message, type) {
  return new Response(JSON.stringify({ type: 'error', error: { type, message }, request_id: `req_${Math.random().toString(36).slice(2)}` }), { status, headers: { 'content-type': 'application/json' } });
}

function defaultError(status, provider) {
  const [type, message] =
    status === 401 ? ['authentication_error', 'invalid x-api-key']
    : status === 403 ? ['permission_error', 'Your API key does not have permission to use the specified resource.']
    : status === 429 ? ['rate_limit_error', 'Rate limit reached for requests']
    : status === 529 ? ['overloaded_error', 'Overloaded']
    : status >= 500 ? ['api_error', 'Internal server error']
    : ['invalid_request_error', 'Invalid request'];
  if (provider === 'anthropic') return { type: 'error', error: { type, message } };
  const openaiType = status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message, type: openaiType, param: null, code: status === 429 ? 'rate_limit_exceeded' : null } };
}

/** OpenAI's request checks that matter to clients: roles, and tool turns answering a preceding tool call. */
function checkOpenAI(body) {
  if (typeof body.model !== 'string' || body.model === '') return 'you must provide a model parameter';
  if (!Array.isArray(body.messages) || body.messages.length === 0) return "Invalid 'messages': empty array. Expected an array with minimum length 1.";
  let open = new Set();
  for (const [i, m] of body.messages.entries()) {
    if (!['system', 'developer', 'user', 'assistant', 'tool'].includes(m?.role)) return `Invalid value for 'messages[${i}].role'`;
    if (m.role === 'tool') {
      if (!open.has(m.tool_call_id)) return "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.";
      if (typeof m.content !== 'string') return `Invalid type for 'messages[${i}].content'`;
      open.delete(m.tool_call_id);
      continue;
    }
    if (open.size > 0) return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...open].join(', ')}`;
    if (m.role === 'assistant' && Array.isArray(m.tool_calls)) {
      for (const t of m.tool_calls) {
        if (t?.type !== 'function' || typeof t.id !== 'string' || typeof t.function?.name !== 'string' || typeof t.function?.arguments !== 'string') return `Invalid 'messages[${i}].tool_calls'`;
      }
      open = new Set(m.tool_calls.map((t) => t.id));
    } else if (typeof m.content !== 'string' && !Array.isArray(m.content)) return `Invalid type for 'messages[${i}].content'`;
  }
  if (open.size > 0) return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'.`;
  for (const t of body.tools ?? []) if (t?.type !== 'function' || typeof t.function?.name !== 'string') return "Invalid 'tools'";
  if (body.response_format?.type === 'json_schema' && typeof body.response_format.json_schema?.name !== 'string') return "Missing required parameter: 'response_format.json_schema.name'.";
  return undefined;
}

/** Anthropic's request checks: max_tokens, alternation, non-empty text, tool_result answering the previous tool_use. */
function checkAnthropic(body) {
  if (typeof body.model !== 'string' || body.model === '') return 'model: Field required';
  if (typeof body.max_tokens !== 'number') return 'max_tokens: Field required';
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'messages: at least one message is required';
  if (body.system !== undefined && typeof body.system !== 'string' && !Array.isArray(body.system)) return 'system: Input should be a valid string or list';
  let previousToolUses = new Set();
  for (const [i, m] of body.messages.entries()) {
    if (m?.role !== 'user' && m?.role !== 'assistant') return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (i > 0 && body.messages[i - 1].role === m.role) return 'messages: roles must alternate between "user" and "assistant", but found multiple "' + m.role + '" roles in a row';
    if (i === 0 && m.role !== 'user') return 'messages: first message must use the "user" role';
    const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
    if (!Array.isArray(blocks) || blocks.length === 0) return `messages.${i}: all messages must have non-empty content`;
    let seenOther = false;
    for (const [j, b] of blocks.entries()) {
      if (b?.type === 'text') {
        if (typeof b.text !== 'string' || b.text === '') return `messages.${i}.content.${j}.text: text content blocks must be non-empty`;
        seenOther = true;
      } else if (b?.type === 'tool_use') {
        if (m.role !== 'assistant' || typeof b.id !== 'string' || typeof b.name !== 'string' || typeof b.input !== 'object' || b.input === null || Array.isArray(b.input)) return `messages.${i}.content.${j}: invalid tool_use block`;
      } else if (b?.type === 'tool_result') {
        if (m.role !== 'user') return `messages.${i}.content.${j}: tool_result blocks are only allowed in user messages`;
        if (seenOther) return `messages.${i}: tool_result blocks must come first in the content`;
        if (!previousToolUses.has(b.tool_use_id)) return `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${b.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
      } else return `messages.${i}.content.${j}.type: unsupported block type ${JSON.stringify(b?.type)}`;
    }
    previousToolUses = new Set(m.role === 'assistant' ? blocks.filter((b) => b.type === 'tool_use').map((b) => b.id) : []);
  }
  for (const t of body.tools ?? []) if (typeof t?.name !== 'string' || t.input_schema?.type !== 'object') return 'tools: each tool needs a name and an input_schema of type object';
  if (body.tool_choice?.type === 'tool' && !(body.tools ?? []).some((t) => t.name === body.tool_choice.name)) return `tool_choice: tool ${body.tool_choice.name} is not among the tools`;
  return undefined;
}

/** OpenAI wire messages → the provider-neutral form tests assert on. */
function openAIMessages(messages) {
  return messages.map((m) => {
    const out = { role: m.role === 'developer' ? 'system' : m.role, content: textOf(m.content) };
    if (Array.isArray(m.tool_calls)) out.toolCalls = m.tool_calls.map((t) => ({ id: t.id, name: t.function.name, arguments: t.function.arguments }));
    if (m.role === 'tool') out.toolCallId = m.tool_call_id;
    return out;
  });
}

/** Anthropic's system + messages → the provider-neutral form: tool_result blocks become tool turns. */
function anthropicMessages(body) {
  const out = [];
  const system = Array.isArray(body.system) ? body.system.map((b) => b.text).join('\n\n') : body.system;
  if (system) out.push({ role: 'system', content: system });
  for (const m of body.messages ?? []) {
    const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content ?? [];
    for (const b of blocks) if (b.type === 'tool_result') out.push({ role: 'tool', content: textOf(b.content), toolCallId: b.tool_use_id });
    const text = blocks.filter((b) => b.type === 'text').map((b) => b.text).join('');
    const uses = blocks.filter((b) => b.type === 'tool_use');
    if (m.role === 'assistant') out.push({ role: 'assistant', content: text, ...(uses.length ? { toolCalls: uses.map((b) => ({ id: b.id, name: b.name, arguments: JSON.stringify(b.input) })) } : {}) });
    else if (text !== '' || !blocks.some((b) => b.type === 'tool_result')) out.push({ role: 'user', content: text });
  }
  return out;
}

function textOf(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p === 'string' ? p : (p?.text ?? ''))).join('');
  return content == null ? '' : String(content);
}

function wireToolCalls(reply, prefix) {
  return (reply.toolCalls ?? []).map((t, i) => ({
    id: t.id ?? `${prefix}${i}${Math.random().toString(36).slice(2, 12)}`,
    name: t.name,
    args: typeof t.arguments === 'string' ? t.arguments : JSON.stringify(t.arguments ?? {}),
  }));
}

function parseArgs(args) {
  try {
    return JSON.parse(args);
  } catch {
    return {};
  }
}

function openAIFinish(reply, toolCalls) {
  return reply.finishReason ?? (toolCalls.length ? 'tool_calls' : 'stop');
}

function anthropicStop(reply, toolCalls) {
  const reason = reply.finishReason ?? (toolCalls.length ? 'tool_calls' : 'stop');
  return { stop: 'end_turn', tool_calls: 'tool_use', length: 'max_tokens', content_filter: 'refusal' }[reason] ?? reason;
}

function usageOf(messages, reply) {
  return {
    input: reply.usage?.inputTokens ?? (messages ?? []).reduce((n, m) => n + countTokens(textOf(m?.content)), 0),
    output: reply.usage?.outputTokens ?? countTokens(reply.content ?? '') + (reply.toolCalls?.length ?? 0) * 8,
  };
}

function openAIUsage(u) {
  return { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output };
}

function countTokens(text) {
  return Math.ceil(text.length / 4);
}

/** "a b c" → ["a ", "b ", "c"]: pieces that concatenate back to the text. */
function words(text) {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/** JSON text in pieces of at most 5 characters, as models stream arguments. */
function fragments(text) {
  const out = [];
  for (let i = 0; i < text.length; i += 5) out.push(text.slice(i, i + 5));
  return out;
}
