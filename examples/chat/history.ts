/**
 * The chat's history in IndexedDB, shared by every tab of the origin: one entry per message, keyed by
 * its event id. Ids are time-sortable, so key order is send order, and every tab that sees a message
 * writes the same key — the same message stored twice is one entry.
 */
import type { Storage } from '../../src/storage/index.ts';
import { indexedDbStorage } from '../../src/storage/indexeddb.ts';

/** One chat line as shown and stored. */
export interface ChatMessage {
  /** The event id: unique and time-ordered across tabs. */
  id: string;
  /** The sender's display name. */
  from: string;
  text: string;
  /** Milliseconds since the epoch, from the event's causal context. */
  at: number;
}

/** The history of one room. */
export interface ChatHistory {
  add(message: ChatMessage): Promise<void>;
  /** The latest `limit` messages, oldest first. */
  recent(limit?: number): Promise<ChatMessage[]>;
  close(): Promise<void>;
}

/** Opens the history of `room` in the IndexedDB database `happen-chat` (or the given storage). */
export function chatHistory(room: string, storage: Storage = indexedDbStorage('happen-chat')): ChatHistory {
  const prefix = `room/${room}/`;
  return {
    add: (message) => storage.put(prefix + message.id, message),
    async recent(limit = 200) {
      const entries = await storage.list<ChatMessage>({ prefix, reverse: true, limit });
      return entries.map(([, message]) => message).reverse();
    },
    close: () => storage.close(),
  };
}
