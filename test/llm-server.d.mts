/** A local LLM server for tests speaking OpenAI chat completions + embeddings and Anthropic messages. */

/** A message as the model was sent it, in the provider-neutral form (Anthropic tool_result blocks become tool turns). */
export interface RecordedMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  toolCalls?: Array<{ id: string; name: string; arguments: string }>;
  toolCallId?: string;
}

/** One request the server accepted (requests refused for a bad key or a malformed body are not recorded). */
export interface RecordedCall {
  provider: 'openai' | 'anthropic' | 'embeddings';
  /** The parsed JSON request body, exactly as sent. */
  body: any;
  /** The conversation, provider-neutral (empty for embeddings). */
  messages: RecordedMessage[];
  stream: boolean;
  /** The request headers, lower-cased names. */
  headers: Record<string, string>;
}

/** What the model answers. Streamed: content word by word, each tool call's arguments in 5-character fragments. */
export interface AnswerReply {
  content?: string;
  /** `id` defaults to a fresh provider-style id (`call_…`, `toolu_…`); object arguments are JSON-encoded. */
  toolCalls?: Array<{ id?: string; name: string; arguments: object | string }>;
  /** Provider-neutral; mapped to Anthropic's stop_reason (stop → end_turn, tool_calls → tool_use, length → max_tokens). */
  finishReason?: 'stop' | 'tool_calls' | 'length' | 'content_filter';
  usage?: { inputTokens: number; outputTokens: number };
  /** Wait this long before answering (a stalled server). */
  delayMs?: number;
  /** Streams only: wait this long before each event after the first. */
  chunkDelayMs?: number;
  /** Streams only: end with the provider's in-stream error event after the content. */
  streamError?: { type: string; message: string };
  /** Streams only: end the body before the finish (no finish_reason / [DONE], no message_delta / message_stop). */
  truncate?: boolean;
}

/** An HTTP fault: `body` defaults to the provider's error format for `status`; a string body is sent verbatim. */
export interface FaultReply {
  status: number;
  body?: object | string;
  headers?: Record<string, string>;
  delayMs?: number;
}

export type Reply = AnswerReply | FaultReply;

export interface LlmServerOptions {
  /** When set, requests must carry it (`Authorization: Bearer` / `x-api-key`), else 401 in the provider's format. */
  apiKey?: string;
  /** Default: a free port. */
  port?: number;
  /** Answers a chat call when the queue is empty (default `{ content: 'ok' }`). */
  respond?: (call: RecordedCall) => Reply | Promise<Reply>;
  /** Return embeddings in reverse order (each still tagged with its `index`), to check clients sort by it. */
  reverseEmbeddings?: boolean;
}

export interface LlmServer {
  /** e.g. `http://127.0.0.1:PORT`. */
  url: string;
  /** `url + '/v1'`, for OpenAI-compatible clients. */
  openaiBaseUrl: string;
  /** `url`, for Anthropic clients (they add `/v1/messages`). */
  anthropicBaseUrl: string;
  /** Every accepted call, in arrival order. */
  calls: RecordedCall[];
  /** Queues replies; each chat call (OpenAI or Anthropic) takes the next one. */
  enqueue(...replies: Reply[]): void;
  close(): Promise<void>;
}

/** Starts the server; resolves once it is listening on 127.0.0.1. */
export function startLlmServer(options?: LlmServerOptions): Promise<LlmServer>;

/** The deterministic embedding the server gives a text: a hashed bag of lowercase words, 64 dims, L2-normalised. */
export function embedText(text: string): number[];
