/** The `happen/agent` entry: agent nodes with models, tools, memory and plans. Model backends are their own entries. */
export type { ChatMessage, FinishReason, JsonSchema, Model, ModelRequest, ModelResponse, ToolCall, ToolSpec } from './model.ts';
export type { Embedder, MemoryHit, MemoryItem, MemoryPatch, MemorySystem, RetrieveOptions, StoreOptions } from './memory-system.ts';
export { createAgentNode, type AgentAnswer, type AgentConfig, type AgentNode, type AgentState, type Conversation, type ThinkOptions } from './agent-node.ts';
export { estimateTokens, fitContext, type ContextWindow, type FitResult } from './context-window.ts';
export { validateJson, type JsonSchemaIssue } from './json-schema.ts';
export type { ToolCallResult, ToolDefinition } from './tools.ts';
export type { Plan, PlanResult, PlanStep, PlanStepResult } from './plans.ts';
export { kvMemory, type KvMemoryOptions } from './memory/kv-memory.ts';
export { cosineSimilarity, vectorMemory, type VectorMemoryOptions } from './memory/vector-memory.ts';
export { lexicalEmbedder, type LexicalEmbedderOptions } from './memory/lexical-embedder.ts';
export { createMemoryNode, type MemoryNodeOptions } from './memory/memory-node.ts';
