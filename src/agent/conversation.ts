/**
 * Conversations as an agent node keeps them: per conversation id, the turns still in play and the
 * summary of those folded away, all in the node's state (so a node with storage keeps them across
 * restarts). A think reads its conversation, works on a copy and commits it only once it answered,
 * so a failed think leaves the conversation as it was.
 */
import type { NodeState } from '../core/state.ts';
import type { ChatMessage } from './model.ts';

/** One conversation: its turns, oldest first, and the summary of the turns dropped from it. */
export interface Conversation {
  turns: ChatMessage[];
  summary?: string;
}

/** The state of an agent node. */
export interface AgentState {
  conversations: Record<string, Conversation>;
}

/** The initial state of an agent node. */
export function emptyAgentState(): AgentState {
  return { conversations: {} };
}

/** A copy of conversation `id` (empty when there is none), safe to change. */
export function readConversation(state: NodeState<AgentState>, id: string): Conversation {
  const all = state.get().conversations;
  const found = all !== null && typeof all === 'object' && Object.hasOwn(all, id) ? all[id] : undefined;
  const turns = Array.isArray(found?.turns) ? found.turns.map((t) => (t.toolCalls ? { ...t, toolCalls: t.toolCalls.map((c) => ({ ...c })) } : { ...t })) : [];
  return typeof found?.summary === 'string' ? { turns, summary: found.summary } : { turns };
}

/** Stores conversation `id`. */
export function writeConversation(state: NodeState<AgentState>, id: string, conversation: Conversation): void {
  state.set((prev) => ({ ...prev, conversations: { ...prev?.conversations, [id]: conversation } }));
}

/** Removes conversation `id`; returns whether it existed. */
export function deleteConversation(state: NodeState<AgentState>, id: string): boolean {
  const all = state.get().conversations;
  if (all === null || typeof all !== 'object' || !Object.hasOwn(all, id)) return false;
  state.set((prev) => {
    const { [id]: _gone, ...rest } = prev.conversations;
    return { ...prev, conversations: rest };
  });
  return true;
}

/**
 * Runs work for one key at a time, in call order: two thinks on one conversation must not both read
 * it, then both write it (the second would erase the first's turns).
 */
export class KeyedQueue {
  #tails = new Map<string, Promise<unknown>>();

  /** Runs `work` once every earlier work for `key` settled. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}
