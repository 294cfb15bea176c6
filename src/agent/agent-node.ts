/**
 * `createAgentNode`: an agent is a node. It handles `agent.think`, `agent.plan.create`,
 * `agent.plan.execute` and `agent.plan.step` events, and its methods send those events to itself, so
 * every think and plan is in the causal web and any node can ask the same over the mesh.
 */
import { HappenError } from '../core/errors.ts';
import type { NodeStore } from '../core/extension.ts';
import { defaultHappen } from '../core/index.ts';
import type { HappenNode } from '../core/node-api.ts';
import type { Happen } from '../core/system-api.ts';
import { promptBudget, type ContextWindow } from './context-window.ts';
import { deleteConversation, emptyAgentState, KeyedQueue, readConversation, type AgentState, type Conversation } from './conversation.ts';
import type { MemoryHit, MemoryItem, MemorySystem, RetrieveOptions, StoreOptions } from './memory-system.ts';
import type { Model, ToolSpec } from './model.ts';
import { runPlan, runStep } from './plan-execution.ts';
import { planCreatePayload, planExecutePayload, planStepPayload, thinkPayload } from './payload-schemas.ts';
import { createPlan, planInvalid, validatePlan, type Plan, type PlanResult } from './plans.ts';
import { checkAborted, think, type AgentAnswer, type AgentCore } from './thinking.ts';
import { ToolBox, type ToolDefinition } from './tools.ts';

export type { AgentAnswer } from './thinking.ts';
export type { AgentState, Conversation } from './conversation.ts';

/** Configuration of an agent node. */
export interface AgentConfig {
  model: Model;
  /** The first message of every request. */
  systemPrompt?: string;
  /** The model's window: without one, the whole conversation is sent every time. */
  contextWindow?: ContextWindow;
  tools?: ToolDefinition[];
  memory?: MemorySystem;
  /**
   * How many memories a think retrieves for its input and puts in context as a system note (default
   * 3 with `memory`; 0 turns it off), and optionally the lowest score that counts.
   */
  recall?: number | { limit: number; minScore?: number };
  /** Rounds of tool calls one think may take (default 8); a model that wants more fails the think with `AGENT_TOOL_LOOP`. */
  maxToolRounds?: number;
  /** The system the node lives in (default `defaultHappen()`). */
  happen?: Happen;
  /** The node's storage: its conversations survive restarts. */
  storage?: NodeStore;
  /** Stream answers as `agent.token` events (default true). */
  stream?: boolean;
  /** Milliseconds a think, a plan's creation or one plan step may take (default: the system's send timeout). */
  timeout?: number;
}

/** Options of {@link AgentNode.think}. */
export interface ThinkOptions {
  /** The conversation to continue (default `'default'`). */
  conversation?: string;
  /** Aborts the think: it rejects with `AGENT_ABORTED` (or the model's `MODEL_ABORTED`). */
  signal?: AbortSignal;
  /** Override the agent's `stream` setting for this think. */
  stream?: boolean;
  /** Milliseconds to wait for the answer (default: the agent's `timeout`). */
  timeout?: number;
}

/** A node that thinks with a model, calls tools, remembers, and plans. */
export interface AgentNode extends HappenNode<AgentState> {
  readonly model: Model;
  /** Sends `agent.think` to this node and resolves to the answer. */
  think(input: string, options?: ThinkOptions): Promise<AgentAnswer>;
  /** Adds a tool; returns a function that removes it. Throws `INVALID_TOOL` or `DUPLICATE_TOOL`. */
  registerTool(def: ToolDefinition): () => void;
  /** Calls a tool directly, as the model would. Rejects with `TOOL_NOT_FOUND`, `TOOL_ARGS_INVALID` or the tool's error. */
  useTool<T = unknown>(name: string, args?: unknown): Promise<T>;
  /** The tools as offered to the model. */
  tools(): ToolSpec[];
  /** Stores in the agent's memory; rejects with `AGENT_NO_MEMORY` without one. */
  remember(content: string, options?: StoreOptions): Promise<MemoryItem>;
  /** Retrieves from the agent's memory; rejects with `AGENT_NO_MEMORY` without one. */
  recall(query: string, options?: RetrieveOptions): Promise<MemoryHit[]>;
  /** Asks the model for a validated plan for `goal`; rejects with `PLAN_INVALID` after one retry. */
  createPlan(goal: string, options?: { signal?: AbortSignal; timeout?: number }): Promise<Plan>;
  /** Runs a plan as a workflow of events under the correlation id `plan.id`; rejects with `PLAN_INVALID` before running an invalid one. */
  executePlan(plan: Plan, options?: { stepTimeout?: number }): Promise<PlanResult>;
  /** A copy of one conversation's kept turns and summary (empty before `ready` or when there is none). */
  conversation(id?: string): Conversation;
  /** Forgets one conversation; returns whether it existed. */
  forgetConversation(id?: string): boolean;
}

// setTimeout's largest delay: "no limit" for a plan, whose steps have their own.
const NO_LIMIT = 2 ** 31 - 1;

/** Creates an agent node in `config.happen` (default the default system). Throws `INVALID_CONFIG` on a bad config. */
export function createAgentNode(id: string, config: AgentConfig): AgentNode {
  const settings = checkConfig(config);
  const happen = config.happen ?? defaultHappen();
  const node = happen.createNode<AgentState>(id, { state: emptyAgentState(), ...(config.storage ? { storage: config.storage } : {}) });
  const tools = new ToolBox(node);
  const core: AgentCore = {
    id: node.id,
    node,
    model: config.model,
    systemPrompt: config.systemPrompt,
    contextWindow: config.contextWindow,
    tools,
    memory: config.memory,
    recall: settings.recall,
    maxToolRounds: settings.maxToolRounds,
    conversations: new KeyedQueue(),
  };
  // What cannot travel in an event (an AbortSignal) waits here for the handler, by event id.
  const signals = new Map<string, AbortSignal>();
  const takeSignal = (eventId: string) => {
    const signal = signals.get(eventId);
    signals.delete(eventId);
    return signal;
  };
  const wait = (timeout: number | undefined) => (timeout === undefined ? undefined : { timeout });

  node.on('agent.think', { schema: thinkPayload }, (event, ctx) =>
    think(core, ctx, { input: event.payload.input, conversation: event.payload.conversation ?? 'default', stream: event.payload.stream ?? settings.stream, signal: takeSignal(event.id) }),
  );
  node.on('agent.plan.create', { schema: planCreatePayload }, (event, ctx) => createPlan(core, ctx, event.payload.goal, takeSignal(event.id)));
  node.on('agent.plan.execute', { schema: planExecutePayload }, (event, ctx) => runPlan(core, ctx, event.payload.plan, event.payload.stepTimeout ?? config.timeout));
  node.on('agent.plan.step', { schema: planStepPayload }, (event, ctx) => runStep(core, ctx, event.payload, settings.stream));

  // Sends a request to this node and awaits it; an abort rejects at once (the handler stops at its next check).
  const ask = async <T>(type: string, payload: unknown, signal: AbortSignal | undefined, timeout: number | undefined, correlationId?: string): Promise<T> => {
    checkAborted(signal);
    const handle = node.send<T>(node.id, correlationId === undefined ? { type, payload } : { type, payload, correlationId });
    const answer = handle.return(wait(timeout));
    if (signal === undefined) return answer;
    const eventId = handle.event.id;
    signals.set(eventId, signal);
    const forget = () => void signals.delete(eventId); // once settled: by then the handler took it, or never will
    answer.then(forget, forget);
    return abortable(answer, signal);
  };
  const requireMemory = (): MemorySystem => {
    if (config.memory === undefined) throw new HappenError('runtime', 'AGENT_NO_MEMORY', `Agent "${node.id}" has no memory`);
    return config.memory;
  };

  const methods: Omit<AgentNode, keyof HappenNode> = {
    model: config.model,
    think: (input, options = {}) => {
      const payload: Record<string, unknown> = { input };
      if (options.conversation !== undefined) payload.conversation = options.conversation;
      if (options.stream !== undefined) payload.stream = options.stream;
      return ask<AgentAnswer>('agent.think', payload, options.signal, options.timeout ?? config.timeout);
    },
    registerTool: (def) => tools.register(def),
    useTool: async <T>(name: string, args: unknown = {}) => (await tools.call((target, input) => node.send(target, input), tools.named(name), args, node.id)) as T,
    tools: () => tools.specs(),
    remember: async (content, options) => requireMemory().store(content, options),
    recall: async (query, options) => requireMemory().retrieve(query, options),
    createPlan: (goal, options = {}) => ask<Plan>('agent.plan.create', { goal }, options.signal, options.timeout ?? config.timeout),
    executePlan: async (plan, options = {}) => {
      const issues = await validatePlan(plan, tools);
      if (issues.length > 0) throw planInvalid(issues);
      const payload = options.stepTimeout === undefined ? { plan } : { plan, stepTimeout: options.stepTimeout };
      return ask<PlanResult>('agent.plan.execute', payload, undefined, NO_LIMIT, plan.id);
    },
    conversation: (conversationId = 'default') => readConversation(node.state, conversationId),
    forgetConversation: (conversationId = 'default') => deleteConversation(node.state, conversationId),
  };
  const agent = Object.assign(node, methods) as AgentNode;
  try {
    for (const def of config.tools ?? []) tools.register(def);
  } catch (error) {
    node.destroy(); // the id stays free for a corrected config
    throw error;
  }
  return agent;
}

function checkConfig(config: AgentConfig): { recall: { limit: number; minScore?: number }; maxToolRounds: number; stream: boolean } {
  const bad = (why: string) => new HappenError('validation', 'INVALID_CONFIG', `createAgentNode(): ${why}`);
  if (typeof config !== 'object' || config === null) throw bad('the config must be an object');
  if (typeof config.model?.complete !== 'function') throw bad('model must implement complete(request)');
  if (config.systemPrompt !== undefined && typeof config.systemPrompt !== 'string') throw bad('systemPrompt must be a string');
  if (config.contextWindow !== undefined) promptBudget(config.contextWindow);
  if (config.tools !== undefined && !Array.isArray(config.tools)) throw bad('tools must be an array');
  if (config.memory !== undefined && (typeof config.memory?.retrieve !== 'function' || typeof config.memory?.store !== 'function')) throw bad('memory must implement MemorySystem');
  const maxToolRounds = config.maxToolRounds ?? 8;
  if (!Number.isInteger(maxToolRounds) || maxToolRounds < 0) throw bad('maxToolRounds must be a non-negative integer');
  if (config.stream !== undefined && typeof config.stream !== 'boolean') throw bad('stream must be a boolean');
  if (config.timeout !== undefined && !(typeof config.timeout === 'number' && config.timeout > 0)) throw bad('timeout must be a positive number of ms');
  const raw = config.recall ?? (config.memory === undefined ? 0 : 3);
  const recall = typeof raw === 'number' ? { limit: raw } : raw;
  if (typeof recall !== 'object' || recall === null || !Number.isInteger(recall.limit) || recall.limit < 0) throw bad('recall must be a non-negative integer or { limit, minScore? }');
  if (recall.minScore !== undefined && typeof recall.minScore !== 'number') throw bad('recall.minScore must be a number');
  return { recall: recall.minScore === undefined ? { limit: recall.limit } : { limit: recall.limit, minScore: recall.minScore }, maxToolRounds, stream: config.stream ?? true };
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new HappenError('runtime', 'AGENT_ABORTED', 'The request was aborted', { reason: String(signal.reason) }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
