/**
 * One tab's side of the chat, without the DOM: this tab is a Happen system with one node,
 * `chat-<name>`, meshed with the other tabs of the origin over BroadcastChannel. A message is a
 * broadcast `chat.message` event; who is here comes from the mesh's `mesh.node.joined` / `left` events;
 * every message seen is kept in the shared IndexedDB history.
 */
import * as v from 'valibot';
import { createHappen, defineEvent, HappenError, type HappenEvent } from '../../src/index.ts';
import { mesh, MESH_NODE_JOINED, MESH_NODE_LEFT } from '../../src/mesh/index.ts';
import { broadcastChannel } from '../../src/transports/broadcast-channel.ts';
import { chatHistory, type ChatMessage } from './history.ts';

const ChatPayload = v.object({
  text: v.pipe(v.string(), v.trim(), v.minLength(1, 'a message needs some text'), v.maxLength(500, 'a message has at most 500 characters')),
});

/**
 * A chat line: what a tab broadcasts, checked by every receiving tab before it is shown. Who said it
 * is the event's sender (`chat-<name>`), from its causal context: the payload carries only the text.
 */
export const ChatSaid = defineEvent('chat.message', ChatPayload);

/** What the UI is told. */
export interface RoomListener {
  message(message: ChatMessage): void;
  /** Someone joined or left; `present` is everyone here now, this tab included, sorted. */
  presence(change: { name: string; change: 'joined' | 'left'; reason?: string }, present: string[]): void;
}

/** A joined room. */
export interface ChatRoom {
  readonly name: string;
  /** Everyone here now, this tab included, sorted. */
  present(): string[];
  /** The stored history, oldest first (what a reloaded or new tab shows). */
  history(): Promise<ChatMessage[]>;
  /** Broadcasts a message to every tab and stores it; resolves with it once stored. */
  say(text: string): Promise<ChatMessage>;
  /** Says goodbye (the other tabs show this one as left at once) and closes. */
  leave(): Promise<void>;
}

const NODE_PREFIX = 'chat-';

/** Node ids may not contain whitespace; display names keep to a short, safe alphabet. */
export function cleanName(raw: string): string {
  return raw.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
}

/** Joins `room` as `name` (see {@link cleanName}); resolves once the mesh link is open. */
export async function joinRoom(name: string, listener: RoomListener, room = 'lobby'): Promise<ChatRoom> {
  const link = mesh({ transports: [broadcastChannel({ mesh: `chat-${room}` })], heartbeatMs: 1_000 });
  const happen = createHappen({ id: `tab-${name}`, extensions: [link] });
  const node = happen.createNode(`${NODE_PREFIX}${name}`);
  const history = chatHistory(room);
  const present = () =>
    link.nodes().filter((n) => n.id.startsWith(NODE_PREFIX)).map((n) => n.id.slice(NODE_PREFIX.length)).sort();

  const toMessage = (event: HappenEvent<{ text: string }>): ChatMessage => ({
    id: event.id,
    from: event.context.causal.sender.slice(NODE_PREFIX.length),
    text: event.payload.text,
    at: event.context.causal.timestamp,
  });

  node.on(ChatSaid, async (event) => {
    const sender = event.context.causal.sender;
    if (sender === node.id || !sender.startsWith(NODE_PREFIX)) return; // our own (shown by say()), or not a chat node
    const message = toMessage(event);
    listener.message(message);
    await history.add(message);
  });
  node.on(MESH_NODE_JOINED, (event) => onPresence(event, 'joined'));
  node.on(MESH_NODE_LEFT, (event) => onPresence(event, 'left'));
  function onPresence(event: HappenEvent<{ node: string; reason?: string }>, change: 'joined' | 'left') {
    const { node: id, reason } = event.payload;
    if (!id.startsWith(NODE_PREFIX)) return;
    listener.presence({ name: id.slice(NODE_PREFIX.length), change, ...(reason ? { reason } : {}) }, present());
  }

  await link.ready;
  return {
    name,
    present,
    history: () => history.recent(),
    async say(text) {
      // Checked here too, so a bad line fails at the caller instead of being refused by every other tab.
      const checked = v.safeParse(ChatPayload, { text });
      if (!checked.success) throw new HappenError('validation', 'INVALID_MESSAGE', checked.issues.map((i) => i.message).join('; '));
      const event = await node.emit(ChatSaid.create(checked.output));
      const message = toMessage(event);
      listener.message(message);
      await history.add(message);
      return message;
    },
    async leave() {
      await link.close();
      await history.close();
    },
  };
}
