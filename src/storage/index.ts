/**
 * `happen/storage`: the `Storage` interface every adapter implements and what is built on it —
 * the append-only event log, replay, event-sourced nodes and node memory. Adapters are separate
 * entries: `happen/storage/memory`, `/indexeddb`, `/durable-object`, `/deno-kv`.
 */
export {
  assertKey,
  assertValue,
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
