/**
 * `happen/agent/openai`: a {@link Model} for any OpenAI-compatible chat-completions server — OpenAI,
 * Ollama, llama.cpp, vLLM — plus the embeddings endpoint as an {@link Embedder}.
 */
import type { ChatMessage, FinishReason, Model, ModelRequest, ModelResponse, ToolCall } from '../model.ts';
import { badRequest, badResponse, readJson, requestModel, streamFailure, type HttpModelOptions, type ModelHttpReply } from './http.ts';
import { sseEvents } from './sse.ts';

export { openAIEmbeddings, type OpenAIEmbeddingsOptions } from './openai-embeddings.ts';
export type { HttpModelOptions } from './http.ts';

/** Options of {@link openAIChat}. */
export interface OpenAIChatOptions extends HttpModelOptions {
  /** The API root, up to and including the version (default `'https://api.openai.com/v1'`; Ollama: `'http://127.0.0.1:11434/v1'`). */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer …`; local servers usually need none. */
  apiKey?: string;
  /** The model id, e.g. `'gpt-4o-mini'` or `'llama3.2'`. */
  model: string;
}

const PROVIDER = 'openai';

/** A chat-completions model; streams (SSE) when the request has `onToken`. */
export function openAIChat(options: OpenAIChatOptions): Model {
  if (typeof options?.model !== 'string' || options.model === '') throw badRequest(PROVIDER, 'openAIChat needs a model name');
  const url = `${(options.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '')}/chat/completions`;
  const headers: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
  return {
    name: `openai:${options.model}`,
    async complete(request) {
      const stream = typeof request.onToken === 'function';
      return requestModel(
        { provider: PROVIDER, url, headers, body: wireRequest(options.model, request, stream), secrets: options.apiKey ? [options.apiKey] : [], ...(request.signal ? { signal: request.signal } : {}), options },
        (reply) => (stream ? readStream(reply, request.onToken!) : readWhole(reply)),
      );
    },
  };
}

function wireRequest(model: string, request: ModelRequest, stream: boolean): Record<string, unknown> {
  if (!Array.isArray(request?.messages)) throw badRequest(PROVIDER, 'request.messages must be an array');
  const body: Record<string, unknown> = { model, messages: request.messages.map(wireMessage) };
  if (request.tools?.length) {
    body.tools = request.tools.map((t) => ({ type: 'function', function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.parameters } }));
  }
  if (request.responseFormat) {
    body.response_format = { type: 'json_schema', json_schema: { name: request.responseFormat.name, schema: request.responseFormat.schema, strict: true } };
  }
  if (request.maxTokens !== undefined) body.max_tokens = request.maxTokens;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}

function wireMessage(m: ChatMessage, i: number): Record<string, unknown> {
  if (typeof m !== 'object' || m === null || typeof m.content !== 'string') throw badRequest(PROVIDER, `message ${i} needs string content`);
  switch (m.role) {
    case 'system':
    case 'user':
      return { role: m.role, content: m.content };
    case 'assistant':
      if (!m.toolCalls?.length) return { role: 'assistant', content: m.content };
      return {
        role: 'assistant',
        // The API wants null, not '', beside tool calls with no text.
        content: m.content === '' ? null : m.content,
        tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
      };
    case 'tool':
      if (typeof m.toolCallId !== 'string' || m.toolCallId === '') throw badRequest(PROVIDER, `tool message ${i} needs the toolCallId it answers`);
      return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
    default:
      throw badRequest(PROVIDER, `message ${i} has an unknown role ${JSON.stringify((m as { role?: unknown }).role)}`);
  }
}

interface WireToolCall {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: unknown };
}

async function readWhole(reply: ModelHttpReply): Promise<ModelResponse> {
  const body = (await readJson(reply, PROVIDER)) as { choices?: Array<{ message?: { content?: unknown; tool_calls?: WireToolCall[] }; finish_reason?: unknown }>; usage?: unknown };
  const choice = Array.isArray(body?.choices) ? body.choices[0] : undefined;
  if (!choice || typeof choice.message !== 'object' || choice.message === null) throw badResponse(PROVIDER, 'no choices[0].message', reply);
  const { message } = choice;
  if (message.content != null && typeof message.content !== 'string') throw badResponse(PROVIDER, 'message.content is not text', reply);
  const toolCalls = (Array.isArray(message.tool_calls) ? message.tool_calls : []).map((c, i) => toolCall(c, i, reply));
  return withUsage({ content: message.content ?? '', toolCalls, finishReason: finishReason(choice.finish_reason, toolCalls.length > 0) }, body.usage);
}

async function readStream(reply: ModelHttpReply, onToken: (text: string) => void): Promise<ModelResponse> {
  let content = '';
  const calls: WireToolCall[] = [];
  let finish: unknown;
  let usage: unknown;
  let done = false;
  for await (const { data } of sseEvents(reply.response, reply.alive)) {
    if (data.trim() === '[DONE]') {
      done = true;
      break;
    }
    const chunk = parseChunk(data, reply) as { choices?: Array<{ delta?: { content?: unknown; tool_calls?: WireToolCall[] }; finish_reason?: unknown }>; usage?: unknown; error?: unknown };
    if (chunk.error !== undefined) throw streamFailure(PROVIDER, chunk.error, reply);
    if (chunk.usage) usage = chunk.usage;
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    if (!choice) continue; // the usage-only chunk has no choices
    if (choice.finish_reason != null) finish = choice.finish_reason;
    const delta = choice.delta;
    if (!delta) continue;
    if (typeof delta.content === 'string' && delta.content !== '') {
      content += delta.content;
      onToken(delta.content);
    }
    for (const part of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
      // Fragments of one call share its index; the id and name come once, the arguments in pieces.
      const index = typeof part.index === 'number' ? part.index : calls.length;
      const call = (calls[index] ??= { index, function: { name: '', arguments: '' } });
      if (part.id) call.id = part.id;
      if (part.function?.name) call.function!.name += part.function.name;
      if (part.function?.arguments !== undefined) {
        const args = part.function.arguments;
        call.function!.arguments = `${call.function!.arguments as string}${typeof args === 'string' ? args : JSON.stringify(args)}`;
      }
    }
  }
  if (!done && finish === undefined) throw streamFailure(PROVIDER, { type: 'stream_ended', message: 'the stream ended before the answer was complete' }, reply);
  const toolCalls = calls.filter(Boolean).map((c, i) => toolCall(c, i, reply));
  return withUsage({ content, toolCalls, finishReason: finishReason(finish, toolCalls.length > 0) }, usage);
}

function parseChunk(data: string, reply: ModelHttpReply): Record<string, unknown> {
  try {
    const chunk = JSON.parse(data) as unknown;
    if (typeof chunk === 'object' && chunk !== null) return chunk as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw badResponse(PROVIDER, `a stream chunk is not a JSON object: ${data.slice(0, 120)}`, reply);
}

function toolCall(c: WireToolCall, i: number, reply: ModelHttpReply): ToolCall {
  const name = c?.function?.name;
  if (typeof name !== 'string' || name === '') throw badResponse(PROVIDER, `tool call ${i} has no function name`, reply);
  const args = c.function?.arguments;
  return {
    // llama.cpp and some proxies leave the id out; the tool turn still needs one to answer.
    id: typeof c.id === 'string' && c.id !== '' ? c.id : `call_${i}`,
    name,
    arguments: typeof args === 'string' ? args || '{}' : JSON.stringify(args ?? {}),
  };
}

function finishReason(raw: unknown, hasToolCalls: boolean): FinishReason {
  if (raw === 'length' || raw === 'content_filter') return raw;
  // Some compatible servers (Ollama) say 'stop' for a turn that calls tools.
  if (raw === 'tool_calls' || raw === 'function_call' || hasToolCalls) return 'tool_calls';
  return 'stop';
}

function withUsage(response: ModelResponse, usage: unknown): ModelResponse {
  const u = usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
  if (typeof u?.prompt_tokens === 'number' && typeof u.completion_tokens === 'number') {
    response.usage = { inputTokens: u.prompt_tokens, outputTokens: u.completion_tokens };
  }
  return response;
}
