/**
 * One think: the model rounds of an `agent.think` event (or of a plan step), run inside that event's
 * handler so every token, tool call and the answer are emitted through its context and so are
 * causally linked to it.
 */
import type { HandlerContext } from '../core/context.ts';
import { HappenError } from '../core/errors.ts';
import type { HappenNode } from '../core/node-api.ts';
import { estimateTokens, fitContext, promptBudget, type ContextWindow } from './context-window.ts';
import { readConversation, writeConversation, type AgentState, type Conversation, type KeyedQueue } from './conversation.ts';
import type { MemorySystem } from './memory-system.ts';
import type { ChatMessage, FinishReason, Model, ModelResponse } from './model.ts';
import { toolTurnContent, type ToolBox, type ToolCallResult } from './tools.ts';

/** What a think answers. */
export interface AgentAnswer {
  /** The model's final answer. */
  content: string;
  /** Every tool call of every round, in order, with its result or error. */
  toolCalls: ToolCallResult[];
  /** Tokens of every model request of the think (rounds and summaries), as providers reported them or else estimated. */
  usage: { inputTokens: number; outputTokens: number };
  /** Model rounds it took (1 when the model answered without calling tools). */
  rounds: number;
  /** Why the model stopped in the last round (`'length'`: the answer was cut off). */
  finishReason: FinishReason;
  /** Id of the `agent.think` event (or plan step event) this answers. */
  eventId: string;
  /** Its correlation id: `happen.trace(correlationId)` shows the whole think. */
  correlationId: string;
}

/** What a think needs of its agent. */
export interface AgentCore {
  readonly id: string;
  readonly node: HappenNode<AgentState>;
  readonly model: Model;
  readonly systemPrompt: string | undefined;
  readonly contextWindow: ContextWindow | undefined;
  readonly tools: ToolBox;
  readonly memory: MemorySystem | undefined;
  readonly recall: { limit: number; minScore?: number };
  readonly maxToolRounds: number;
  readonly conversations: KeyedQueue;
}

/** One think's input. */
export interface ThinkRun {
  input: string;
  /** The conversation to continue and extend; absent = a one-off exchange that is not kept (plan steps). */
  conversation: string | undefined;
  stream: boolean;
  signal: AbortSignal | undefined;
}

type Usage = AgentAnswer['usage'];

const SUMMARY_PROMPT =
  'You keep the running summary of a conversation. Merge the previous summary (if any) and the turns below into one concise ' +
  'summary that keeps every fact, name, number, decision and open question needed to continue the conversation. Answer with the summary only.';

/** Runs a think to its answer; with a conversation, one think per conversation at a time. */
export function think(core: AgentCore, ctx: HandlerContext, run: ThinkRun): Promise<AgentAnswer> {
  if (run.conversation === undefined) return thinkIn(core, ctx, run, { turns: [] });
  const id = run.conversation;
  return core.conversations.run(id, async () => {
    const conversation = readConversation(core.node.state, id);
    const answer = await thinkIn(core, ctx, run, conversation);
    writeConversation(core.node.state, id, conversation);
    return answer;
  });
}

// Works on `conversation` in place; the caller commits it once the answer is there.
async function thinkIn(core: AgentCore, ctx: HandlerContext, run: ThinkRun, conversation: Conversation): Promise<AgentAnswer> {
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  const notes = await recalled(core, run.input);
  const exchange: ChatMessage[] = [{ role: 'user', content: run.input }];
  const toolCalls: ToolCallResult[] = [];
  const thinkId = ctx.event.id;
  let index = 0;
  const onToken = run.stream ? (text: string) => void ctx.broadcast({ type: 'agent.token', payload: { text, index: index++, thinkId } }) : undefined;
  const send = (target: string, input: Parameters<HandlerContext['send']>[1]) => ctx.send(target, input);
  for (let rounds = 1; ; rounds++) {
    checkAborted(run.signal);
    const tools = core.tools.specs();
    const messages = await fitted(core, ctx, run, conversation, notes, exchange, tools.length === 0 ? 0 : estimateTokens(JSON.stringify(tools)), usage);
    const response = await core.model.complete({ messages, ...(tools.length > 0 ? { tools } : {}), ...(run.signal ? { signal: run.signal } : {}), ...(onToken ? { onToken } : {}) });
    count(usage, response, messages);
    checkAborted(run.signal); // a model that ignores the signal must not get an aborted think committed
    if (response.toolCalls.length === 0) {
      exchange.push({ role: 'assistant', content: response.content });
      conversation.turns.push(...exchange);
      const answer: AgentAnswer = {
        content: response.content,
        toolCalls,
        usage,
        rounds,
        finishReason: response.finishReason,
        eventId: thinkId,
        correlationId: ctx.event.context.causal.correlationId,
      };
      ctx.broadcast({ type: 'agent.answer', payload: answer });
      return answer;
    }
    if (rounds > core.maxToolRounds) {
      throw new HappenError('runtime', 'AGENT_TOOL_LOOP', `The model still called tools after ${core.maxToolRounds} rounds of tool calls`, {
        maxToolRounds: core.maxToolRounds,
        toolCalls,
      });
    }
    exchange.push({ role: 'assistant', content: response.content, toolCalls: response.toolCalls });
    const outcomes = await Promise.all(response.toolCalls.map((call) => core.tools.callFromModel(send, call, core.id)));
    for (const outcome of outcomes) {
      toolCalls.push(outcome);
      exchange.push({ role: 'tool', content: toolTurnContent(outcome), toolCallId: outcome.id, name: outcome.name });
    }
  }
}

// The top memories for the input, as a system note (none without memory or with recall off).
async function recalled(core: AgentCore, input: string): Promise<ChatMessage[]> {
  if (core.memory === undefined || core.recall.limit === 0) return [];
  const hits = await core.memory.retrieve(input, core.recall);
  if (hits.length === 0) return [];
  return [{ role: 'system', content: `Relevant memories, most relevant first:\n${hits.map((h) => `- ${h.content}`).join('\n')}` }];
}

/**
 * The messages of one round, fitted to the context window. Turns that no longer fit leave the
 * conversation for good (so its state stays bounded and each turn is reported dropped once); with
 * `'summarize'` they are first folded into its summary. A longer summary can push out more turns:
 * those are summarised once more, after that trimmed.
 */
async function fitted(core: AgentCore, ctx: HandlerContext, run: ThinkRun, conversation: Conversation, notes: ChatMessage[], exchange: ChatMessage[], toolTokens: number, usage: Usage): Promise<ChatMessage[]> {
  const fixed = () => [
    ...(core.systemPrompt === undefined ? [] : [{ role: 'system' as const, content: core.systemPrompt }]),
    ...notes,
    ...(conversation.summary === undefined ? [] : [{ role: 'system' as const, content: `Summary of the earlier conversation:\n${conversation.summary}` }]),
  ];
  const history = () => [...conversation.turns, ...exchange];
  if (core.contextWindow === undefined) return [...fixed(), ...history()];
  const budget = Math.max(1, promptBudget(core.contextWindow) - toolTokens);
  let fit = fitContext(fixed(), history(), budget);
  if (fit.dropped.length === 0) return fit.messages;
  let dropped = 0;
  let summarized = false;
  for (let pass = 0; fit.dropped.length > 0; pass++) {
    conversation.turns = conversation.turns.slice(fit.dropped.length);
    dropped += fit.dropped.length;
    if (core.contextWindow.strategy === 'summarize' && pass < 2) {
      conversation.summary = await summarize(core, conversation.summary, fit.dropped, budget, run.signal, usage);
      summarized = true;
    }
    fit = fitContext(fixed(), history(), budget);
  }
  ctx.broadcast({ type: 'agent.context.trimmed', payload: { conversation: run.conversation ?? null, dropped, tokens: fit.tokens, summarized } });
  return fit.messages;
}

async function summarize(core: AgentCore, previous: string | undefined, turns: ChatMessage[], budget: number, signal: AbortSignal | undefined, usage: Usage): Promise<string> {
  checkAborted(signal);
  const lines = turns.map(describeTurn);
  // The summary request must fit the window too: the oldest lines give way first.
  const room = budget - estimateTokens({ role: 'system', content: SUMMARY_PROMPT }) - estimateTokens(previous ?? '') - 16;
  let tokens = lines.reduce((sum, line) => sum + estimateTokens(line) + 1, 0);
  while (lines.length > 1 && tokens > room) tokens -= estimateTokens(lines.shift()!) + 1;
  const text = `${previous === undefined ? '' : `Previous summary:\n${previous}\n\n`}Turns:\n${lines.join('\n')}`;
  const messages: ChatMessage[] = [
    { role: 'system', content: SUMMARY_PROMPT },
    { role: 'user', content: text },
  ];
  const response = await core.model.complete(signal ? { messages, signal } : { messages });
  count(usage, response, messages);
  return response.content.trim() || previous || '';
}

function describeTurn(turn: ChatMessage): string {
  if (turn.role === 'tool') return `tool ${turn.name ?? ''} returned: ${turn.content}`;
  const calls = (turn.toolCalls ?? []).map((c) => `${turn.role} called ${c.name}(${c.arguments})`);
  return [...(turn.content ? [`${turn.role}: ${turn.content}`] : []), ...calls].join('\n');
}

function count(usage: Usage, response: ModelResponse, messages: ChatMessage[]): void {
  usage.inputTokens += response.usage?.inputTokens ?? messages.reduce((sum, m) => sum + estimateTokens(m), 0);
  usage.outputTokens += response.usage?.outputTokens ?? estimateTokens(response.content);
}

/** Throws `AGENT_ABORTED` once `signal` is aborted. */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new HappenError('runtime', 'AGENT_ABORTED', 'The think was aborted', { reason: String(signal.reason) });
}
