/**
 * The one small interface every model backend implements (OpenAI-compatible, Anthropic, scripted).
 * The agent speaks only this; a backend translates it to and from its wire protocol.
 */

/** One turn of a conversation, in the provider-neutral form the agent keeps. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  /** The text of the turn (may be empty for an assistant turn that only calls tools). */
  content: string;
  /** On assistant turns: the tools the model asked to call. */
  toolCalls?: ToolCall[];
  /** On tool turns: the id of the call this turn answers. */
  toolCallId?: string;
  /** On tool turns: the tool's name (some providers want it). */
  name?: string;
}

/** A tool call the model asked for. */
export interface ToolCall {
  /** The provider's id of the call; a tool turn answers it by this id. */
  id: string;
  /** The tool's name as registered. */
  name: string;
  /** The arguments as JSON text, exactly as the model wrote them (the agent parses and validates). */
  arguments: string;
}

/** A JSON Schema (draft 2020-12 subset) as models and providers take it. */
export type JsonSchema = { [key: string]: unknown };

/** A tool as offered to the model. */
export interface ToolSpec {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  parameters: JsonSchema;
}

/** What the agent asks a model for. */
export interface ModelRequest {
  messages: ChatMessage[];
  tools?: ToolSpec[];
  /** Structured output: the answer must be JSON matching this schema. */
  responseFormat?: { name: string; schema: JsonSchema };
  maxTokens?: number;
  temperature?: number;
  /** Aborts the request (the backend rejects with `MODEL_ABORTED`). */
  signal?: AbortSignal;
  /** Present = stream: called with each piece of answer text as it arrives, in order. */
  onToken?: (text: string) => void;
}

/** Why the model stopped. */
export type FinishReason = 'stop' | 'tool_calls' | 'length' | 'content_filter';

/** A model's whole answer to one request (also when it was streamed). */
export interface ModelResponse {
  /** The answer text (the concatenation of every streamed token). */
  content: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  /** Token counts as the provider reported them, when it did. */
  usage?: { inputTokens: number; outputTokens: number };
}

/** A model backend. */
export interface Model {
  /** For logs and events, e.g. `'openai:gpt-4o-mini'`. */
  readonly name: string;
  /**
   * Runs one request. Rejects with a `HappenError`: `MODEL_AUTH` (401/403), `MODEL_QUOTA` (429 after
   * the retries, or the provider says the quota is exhausted), `MODEL_UNAVAILABLE` (5xx or network after
   * the retries), `MODEL_TIMEOUT`, `MODEL_ABORTED`, `MODEL_BAD_REQUEST` (4xx) or `MODEL_BAD_RESPONSE`.
   */
  complete(request: ModelRequest): Promise<ModelResponse>;
}
