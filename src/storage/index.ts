/**
 * `happen/storage`: the `Storage` interface every adapter implements and what is built on it —
 * the append-only event log, replay, event-sourced nodes and node memory. Adapters are separate
 * entries: `happen/storage/memory`, `/indexeddb`, `/durable-object`, `/deno-kv`.
 */
export {
  assertKey,
  assertValue,
  bytesOver,
  jsonBytes,
  listRange,
  prefixEnd,
  sameValue,
  storageError,
  type BatchCheck,
  type BatchOp,
  type ListOptions,
  type Storage,
  type StorageErrorCode,
} from './storage.ts';
export { EventLog, eventLog, replay, type AppendOptions, type EventLogOptions, type LogQuery, type LoggedEvent } from './event-log.ts';
export { bindNodeToStorage, nodeLog, stateKey } from './node-binding.ts';
export { createEventSourcedNode, type EventSourcedNode, type EventSourcedOptions, type HistoryPoint, type Reducer } from './event-sourced.ts';
export { nodeMemory, sharedMemory, type Memory, type MemoryOptions, type RememberOptions, type ScopeAcl, type SharedScope } from './node-memory.ts';
export { memoryStorage, type MemoryStorageOptions } from './memory.ts';
