/**
 * `happen/agent/anthropic`: a {@link Model} for Anthropic's Messages API (`POST /v1/messages`).
 *
 * Structured output (`responseFormat`) uses the way Anthropic documents for JSON that follows a schema
 * on every model: one tool whose `input_schema` is the schema, forced with `tool_choice`; the tool's
 * input is returned as the answer's JSON text (`content`), not as a tool call. While it is forced, the
 * model cannot call the request's other tools. A schema whose root is not an object (the API wants an
 * object) is wrapped as `{ value }` and unwrapped on the way back.
 */
import type { ChatMessage, FinishReason, JsonSchema, Model, ModelRequest, ModelResponse, ToolCall } from '../model.ts';
import { badRequest, badResponse, readJson, requestModel, streamFailure, type HttpModelOptions, type ModelHttpReply } from './http.ts';
import { sseEvents } from './sse.ts';

export type { HttpModelOptions } from './http.ts';

/** Options of {@link anthropicMessages}. */
export interface AnthropicMessagesOptions extends HttpModelOptions {
  /** The API root without the version path (default `'https://api.anthropic.com'`). */
  baseUrl?: string;
  /** Sent as `x-api-key`. */
  apiKey?: string;
  /** The model id, e.g. `'claude-sonnet-4-5'`. */
  model: string;
  /** `max_tokens` when the request sets none; the API requires one (default 1024). */
  maxTokens?: number;
  /** The `anthropic-version` header (default `'2023-06-01'`). */
  version?: string;
}

const PROVIDER = 'anthropic';

type Block =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content: string };

interface WireMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

/** A Messages API model; streams (SSE) when the request has `onToken`. */
export function anthropicMessages(options: AnthropicMessagesOptions): Model {
  if (typeof options?.model !== 'string' || options.model === '') throw badRequest(PROVIDER, 'anthropicMessages needs a model name');
  const url = `${(options.baseUrl ?? 'https://api.anthropic.com').replace(/\/+$/, '')}/v1/messages`;
  const headers: Record<string, string> = { 'anthropic-version': options.version ?? '2023-06-01', ...(options.apiKey ? { 'x-api-key': options.apiKey } : {}) };
  return {
    name: `anthropic:${options.model}`,
    async complete(request) {
      const stream = typeof request?.onToken === 'function';
      const format = request.responseFormat ? formatTool(request.responseFormat) : undefined;
      const body = wireRequest(options, request, format, stream);
      return requestModel(
        { provider: PROVIDER, url, headers, body, secrets: options.apiKey ? [options.apiKey] : [], ...(request.signal ? { signal: request.signal } : {}), options },
        async (reply) => {
          if (!stream) return answer(await readWhole(reply), format, reply);
          // A wrapped schema's fragments include the wrapper: hand over the unwrapped answer once instead.
          const result = answer(await readStream(reply, request.onToken!, format?.wrapped ? undefined : format?.name), format, reply);
          if (format?.wrapped) request.onToken!(result.content);
          return result;
        },
      );
    },
  };
}

interface FormatTool {
  name: string;
  schema: JsonSchema;
  /** The schema was wrapped as `{ value }`. */
  wrapped: boolean;
}

function formatTool(format: NonNullable<ModelRequest['responseFormat']>): FormatTool {
  if (typeof format.name !== 'string' || format.name === '') throw badRequest(PROVIDER, 'responseFormat needs a name');
  const wrapped = format.schema?.type !== 'object';
  const schema = wrapped ? { type: 'object', properties: { value: format.schema }, required: ['value'] } : format.schema;
  return { name: format.name, schema, wrapped };
}

function wireRequest(options: AnthropicMessagesOptions, request: ModelRequest, format: FormatTool | undefined, stream: boolean): Record<string, unknown> {
  if (!Array.isArray(request?.messages)) throw badRequest(PROVIDER, 'request.messages must be an array');
  const system: string[] = [];
  const messages: WireMessage[] = [];
  request.messages.forEach((m, i) => {
    if (typeof m !== 'object' || m === null || typeof m.content !== 'string') throw badRequest(PROVIDER, `message ${i} needs string content`);
    if (m.role === 'system') {
      if (m.content !== '') system.push(m.content);
      return;
    }
    const [role, blocks] = wireTurn(m, i);
    // The API wants user and assistant turns to alternate: merge neighbours of one role (tool results included).
    const last = messages.at(-1);
    if (blocks.length === 0) return; // an empty turn (the API rejects empty text blocks)
    if (last?.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  });
  for (const m of messages) {
    // tool_result blocks must lead their user message.
    if (m.role === 'user') m.content.sort((a, b) => Number(b.type === 'tool_result') - Number(a.type === 'tool_result'));
  }
  const body: Record<string, unknown> = { model: options.model, max_tokens: request.maxTokens ?? options.maxTokens ?? 1024, messages };
  if (system.length) body.system = system.join('\n\n');
  const tools = (request.tools ?? []).map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}), input_schema: t.parameters }));
  if (format) {
    tools.push({ name: format.name, description: 'Give the answer by calling this tool with it as the input.', input_schema: format.schema });
    body.tool_choice = { type: 'tool', name: format.name };
  }
  if (tools.length) body.tools = tools;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (stream) body.stream = true;
  return body;
}

function wireTurn(m: ChatMessage, i: number): ['user' | 'assistant', Block[]] {
  const text: Block[] = m.content === '' ? [] : [{ type: 'text', text: m.content }];
  switch (m.role) {
    case 'user':
      return ['user', text];
    case 'assistant':
      return ['assistant', [...text, ...(m.toolCalls ?? []).map((c): Block => ({ type: 'tool_use', id: c.id, name: c.name, input: toolInput(c.arguments) }))]];
    case 'tool':
      if (typeof m.toolCallId !== 'string' || m.toolCallId === '') throw badRequest(PROVIDER, `tool message ${i} needs the toolCallId it answers`);
      return ['user', [{ type: 'tool_result', tool_use_id: m.toolCallId, content: m.content }]];
    default:
      throw badRequest(PROVIDER, `message ${i} has an unknown role ${JSON.stringify((m as { role?: unknown }).role)}`);
  }
}

/**
 * A tool call's JSON text as the object `tool_use.input` must be. Arguments the model wrote that are not
 * a JSON object become `{}`: the conversation (with the tool's error answer) must still be sendable.
 */
function toolInput(args: string): Record<string, unknown> {
  try {
    const value = JSON.parse(args) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // falls through
  }
  return {};
}

/** A response before the structured-output tool is turned back into content. */
interface Raw {
  text: string;
  tools: Array<{ id: string; name: string; json: string }>;
  stopReason: unknown;
  usage: { input?: number; output?: number };
}

async function readWhole(reply: ModelHttpReply): Promise<Raw> {
  const body = (await readJson(reply, PROVIDER)) as { content?: unknown; stop_reason?: unknown; usage?: { input_tokens?: unknown; output_tokens?: unknown } };
  if (!Array.isArray(body?.content)) throw badResponse(PROVIDER, 'no content array', reply);
  const raw: Raw = { text: '', tools: [], stopReason: body.stop_reason, usage: {} };
  for (const block of body.content as Array<{ type?: unknown; text?: unknown; id?: unknown; name?: unknown; input?: unknown }>) {
    if (block?.type === 'text' && typeof block.text === 'string') raw.text += block.text;
    else if (block?.type === 'tool_use') {
      if (typeof block.name !== 'string' || typeof block.id !== 'string') throw badResponse(PROVIDER, 'a tool_use block lacks its id or name', reply);
      raw.tools.push({ id: block.id, name: block.name, json: JSON.stringify(block.input ?? {}) });
    }
    // thinking and other block types carry nothing the agent uses.
  }
  if (typeof body.usage?.input_tokens === 'number') raw.usage.input = body.usage.input_tokens;
  if (typeof body.usage?.output_tokens === 'number') raw.usage.output = body.usage.output_tokens;
  return raw;
}

/** Reads the event stream; `formatName`'s tool input streams through `onToken`, since it is the answer. */
async function readStream(reply: ModelHttpReply, onToken: (text: string) => void, formatName: string | undefined): Promise<Raw> {
  const raw: Raw = { text: '', tools: [], stopReason: undefined, usage: {} };
  const blocks = new Map<number, { kind: 'text' } | { kind: 'tool'; id: string; name: string; json: string; start: string }>();
  let stopped = false;
  for await (const { event, data } of sseEvents(reply.response, reply.alive)) {
    const e = parse(data, reply) as {
      type?: unknown;
      index?: unknown;
      message?: { usage?: { input_tokens?: unknown; output_tokens?: unknown } };
      content_block?: { type?: unknown; id?: unknown; name?: unknown; text?: unknown; input?: unknown };
      delta?: { type?: unknown; text?: unknown; partial_json?: unknown; stop_reason?: unknown };
      usage?: { input_tokens?: unknown; output_tokens?: unknown };
      error?: unknown;
    };
    const type = e.type ?? event;
    const index = typeof e.index === 'number' ? e.index : -1;
    if (type === 'message_start') {
      const u = e.message?.usage;
      if (typeof u?.input_tokens === 'number') raw.usage.input = u.input_tokens;
      if (typeof u?.output_tokens === 'number') raw.usage.output = u.output_tokens;
    } else if (type === 'content_block_start') {
      const b = e.content_block;
      if (b?.type === 'text') {
        blocks.set(index, { kind: 'text' });
        if (typeof b.text === 'string' && b.text !== '') text(b.text);
      } else if (b?.type === 'tool_use') {
        if (typeof b.id !== 'string' || typeof b.name !== 'string') throw badResponse(PROVIDER, 'a tool_use block lacks its id or name', reply);
        // The input usually starts as {} and arrives as input_json_delta fragments.
        const start = b.input && Object.keys(b.input).length ? JSON.stringify(b.input) : '';
        blocks.set(index, { kind: 'tool', id: b.id, name: b.name, json: '', start });
      }
    } else if (type === 'content_block_delta') {
      const block = blocks.get(index);
      const d = e.delta;
      if (d?.type === 'text_delta' && typeof d.text === 'string' && block?.kind === 'text') text(d.text);
      else if (d?.type === 'input_json_delta' && typeof d.partial_json === 'string' && block?.kind === 'tool') {
        block.json += d.partial_json;
        if (block.name === formatName && d.partial_json !== '') onToken(d.partial_json);
      }
    } else if (type === 'content_block_stop') {
      const block = blocks.get(index);
      if (block?.kind === 'tool') raw.tools.push({ id: block.id, name: block.name, json: block.json || block.start || '{}' });
    } else if (type === 'message_delta') {
      if (e.delta?.stop_reason != null) raw.stopReason = e.delta.stop_reason;
      if (typeof e.usage?.output_tokens === 'number') raw.usage.output = e.usage.output_tokens;
      if (typeof e.usage?.input_tokens === 'number') raw.usage.input = e.usage.input_tokens;
    } else if (type === 'message_stop') {
      stopped = true;
      break;
    } else if (type === 'error') {
      throw streamFailure(PROVIDER, e.error, reply);
    }
    // ping and unknown events are ignored, as the API's versioning policy asks.
  }
  if (!stopped) throw streamFailure(PROVIDER, { type: 'stream_ended', message: 'the stream ended before message_stop' }, reply);
  return raw;

  function text(piece: string): void {
    raw.text += piece;
    onToken(piece);
  }
}

function parse(data: string, reply: ModelHttpReply): Record<string, unknown> {
  try {
    const value = JSON.parse(data) as unknown;
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw badResponse(PROVIDER, `a stream event is not a JSON object: ${data.slice(0, 120)}`, reply);
}

function answer(raw: Raw, format: FormatTool | undefined, reply: ModelHttpReply): ModelResponse {
  let content = raw.text;
  let tools = raw.tools;
  let reason = stopReason(raw.stopReason);
  if (format) {
    const forced = tools.find((t) => t.name === format.name);
    if (!forced) throw badResponse(PROVIDER, `the structured answer (tool ${format.name}) is missing`, reply);
    content = forced.json;
    if (format.wrapped) {
      try {
        content = JSON.stringify((JSON.parse(forced.json) as { value?: unknown }).value ?? null);
      } catch {
        throw badResponse(PROVIDER, 'the structured answer is not JSON', reply);
      }
    }
    tools = tools.filter((t) => t !== forced);
    if (reason === 'tool_calls' && tools.length === 0) reason = 'stop'; // the forced tool is the answer, not a call
  }
  const toolCalls: ToolCall[] = tools.map((t) => ({ id: t.id, name: t.name, arguments: t.json }));
  const response: ModelResponse = { content, toolCalls, finishReason: reason };
  if (raw.usage.input !== undefined && raw.usage.output !== undefined) response.usage = { inputTokens: raw.usage.input, outputTokens: raw.usage.output };
  return response;
}

function stopReason(raw: unknown): FinishReason {
  if (raw === 'tool_use') return 'tool_calls';
  if (raw === 'max_tokens' || raw === 'model_context_window_exceeded') return 'length';
  if (raw === 'refusal') return 'content_filter';
  return 'stop'; // end_turn, stop_sequence, pause_turn
}
