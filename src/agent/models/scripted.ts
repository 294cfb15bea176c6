/**
 * `happen/agent/scripted`: a model that answers from a script, for tests and demos. Each request
 * takes the next entry; every request is kept in `calls`, so a test can assert what the agent sent.
 */
import { HappenError } from '../../core/errors.ts';
import { estimateTokens } from '../context-window.ts';
import type { FinishReason, Model, ModelRequest, ModelResponse, ToolCall } from '../model.ts';

/** A tool call in a scripted reply; `arguments` may be a value (sent as JSON) or raw JSON text. */
export interface ScriptedToolCall {
  /** Default: `call_<n>`, numbered across the model's replies. */
  id?: string;
  name: string;
  /** A string is sent as it is (so a test can script malformed JSON); anything else is JSON-encoded. */
  arguments: unknown;
}

/** One scripted answer. */
export interface ScriptedReply {
  content?: string;
  /** Structured output: sent as the JSON text of this value (instead of `content`). */
  json?: unknown;
  toolCalls?: ScriptedToolCall[];
  /** Default: `'tool_calls'` when there are tool calls, else `'stop'`. */
  finishReason?: FinishReason;
  /** Default: an estimate from the request's messages and the answer (see `estimateTokens`). */
  usage?: { inputTokens: number; outputTokens: number };
  /** Thrown instead of answering (e.g. a `MODEL_QUOTA` error). */
  error?: HappenError;
}

/** A script entry: a reply, or a function of the request that returns one (to branch or assert). */
export type ScriptedEntry = ScriptedReply | ((request: ModelRequest) => ScriptedReply | Promise<ScriptedReply>);

/** Options of {@link scriptedModel}. */
export interface ScriptedModelOptions {
  /** The model's name (default `'scripted'`). */
  name?: string;
  /** Answers once the script is exhausted (default: reject with `MODEL_SCRIPT_EXHAUSTED`). */
  fallback?: (request: ModelRequest) => ScriptedReply | Promise<ScriptedReply>;
}

/** A scripted model: a {@link Model} that also records what it was asked. */
export interface ScriptedModel extends Model {
  /** Every request, in order, as the model received it (messages and tools copied). */
  readonly calls: ModelRequest[];
  /** Script entries not yet used. */
  readonly remaining: number;
}

/**
 * A model that answers from `script`, one entry per request. Streaming requests (`onToken`) get the
 * answer word by word. A request whose signal is already aborted rejects with `MODEL_ABORTED`.
 */
export function scriptedModel(script: ScriptedEntry[], options: ScriptedModelOptions = {}): ScriptedModel {
  if (!Array.isArray(script)) throw new HappenError('validation', 'INVALID_CONFIG', 'scriptedModel(): the script must be an array');
  const entries = [...script];
  const calls: ModelRequest[] = [];
  let callIds = 0;
  return {
    name: options.name ?? 'scripted',
    calls,
    get remaining() {
      return entries.length;
    },
    async complete(request: ModelRequest): Promise<ModelResponse> {
      calls.push(snapshot(request));
      if (request.signal?.aborted) throw new HappenError('runtime', 'MODEL_ABORTED', 'The request was aborted');
      const entry = entries.shift() ?? options.fallback;
      if (entry === undefined) {
        throw new HappenError('runtime', 'MODEL_SCRIPT_EXHAUSTED', `The scripted model has no reply left for request ${calls.length}`);
      }
      let reply: ScriptedReply;
      try {
        reply = typeof entry === 'function' ? await entry(request) : entry;
      } catch (error) {
        if (error instanceof HappenError) throw error;
        throw new HappenError('runtime', 'MODEL_SCRIPT_ERROR', `A script entry threw: ${error instanceof Error ? error.message : String(error)}`, undefined, { cause: error });
      }
      const response = toResponse(reply, request, () => `call_${++callIds}`);
      if (request.onToken && response.content.length > 0) for (const word of words(response.content)) request.onToken(word);
      return response;
    },
  };
}

function toResponse(reply: ScriptedReply, request: ModelRequest, nextId: () => string): ModelResponse {
  if (typeof reply !== 'object' || reply === null) throw badReply('a reply must be an object');
  if (reply.error !== undefined) throw HappenError.from(reply.error);
  if (reply.content !== undefined && typeof reply.content !== 'string') throw badReply('content must be a string');
  if (reply.toolCalls !== undefined && !Array.isArray(reply.toolCalls)) throw badReply('toolCalls must be an array');
  const content = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.content ?? '');
  const toolCalls: ToolCall[] = (reply.toolCalls ?? []).map((call) => {
    if (typeof call?.name !== 'string') throw badReply('every tool call needs a name');
    const args = typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {});
    return { id: call.id ?? nextId(), name: call.name, arguments: args };
  });
  const usage = reply.usage ?? {
    inputTokens: request.messages.reduce((sum, m) => sum + estimateTokens(m), 0),
    outputTokens: estimateTokens({ role: 'assistant', content, toolCalls }),
  };
  return { content, toolCalls, finishReason: reply.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'), usage };
}

// Splits after whitespace, so the pieces concatenate back to the text exactly.
function words(text: string): string[] {
  return text.split(/(?<=\s)(?=\S)/);
}

// The request as it was at the call: later changes by the caller must not rewrite the record.
function snapshot(request: ModelRequest): ModelRequest {
  const copy: ModelRequest = { ...request, messages: request.messages.map((m) => (m.toolCalls ? { ...m, toolCalls: m.toolCalls.map((c) => ({ ...c })) } : { ...m })) };
  if (request.tools) copy.tools = request.tools.map((t) => ({ ...t }));
  return copy;
}

function badReply(why: string): HappenError {
  return new HappenError('runtime', 'MODEL_BAD_RESPONSE', `Scripted reply: ${why}`);
}
