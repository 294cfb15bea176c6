/**
 * The todo page's side, without the DOM. The page is a Happen system of its own whose `todo-<tab>`
 * node emits `todo.added` / `toggled` / `removed` through a durable mesh: each emit resolves once the
 * event is in the IndexedDB outbox (and in the node's own event log), online or not. While offline the
 * outbox holds them — across reloads — and flushes them, in order, when the link is back. What the
 * page shows is the store's last answer with this tab's not-yet-applied events folded over it.
 */
import { createHappen, type EventInput, type HappenEvent } from '../../src/index.ts';
import { mesh } from '../../src/mesh/index.ts';
import { nodeLog, type Storage } from '../../src/storage/index.ts';
import { indexedDbStorage } from '../../src/storage/indexeddb.ts';
import { broadcastChannel } from '../../src/transports/broadcast-channel.ts';
import { offlineSwitch } from './offline-switch.ts';
import { STORE_NODE, TODO_MESH } from './store.ts';
import { applyChange, CHANGE_TYPES, EMPTY, LIST_TYPE, TodoAdded, TodoRemoved, TodoToggled, type StoreSnapshot, type Todo } from './todos.ts';

/** An item as the page shows it: `pending` while a change to it waits in the outbox or at the store. */
export interface ShownTodo extends Todo {
  pending: boolean;
}

/** What the page renders. */
export interface TodoView {
  todos: ShownTodo[];
  online: boolean;
  /** Events in the outbox, not yet acked by the store. */
  queued: number;
  /** The store's list as last heard (undefined before the first answer). */
  store: StoreSnapshot | undefined;
}

/** A started todo page. */
export interface TodoApp {
  readonly system: string;
  readonly node: string;
  view(): TodoView;
  add(title: string): Promise<HappenEvent>;
  toggle(id: string): Promise<HappenEvent>;
  remove(id: string): Promise<HappenEvent>;
  setOnline(online: boolean): void;
  /** Asks the store for its list (online only); resolves to it, or undefined when it did not answer. */
  refresh(): Promise<StoreSnapshot | undefined>;
  /** The ids of the change events this tab emitted, in emit order (from its event log). */
  emitted(): string[];
  /** Calls `listener` whenever the view may have changed; returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
  close(): Promise<void>;
}

const SNAPSHOT_KEY = 'todo/last-store-answer';

/** Options of {@link startTodoApp}. */
export interface TodoAppOptions {
  /** This tab's id (stable across reloads of the tab): the system is `tab-<tab>`, the node `todo-<tab>`. */
  tab: string;
  online?: boolean;
  /** Where the outbox, the node's log and the last store answer live (default: IndexedDB `happen-todo-<tab>`). */
  storage?: Storage;
}

/** Starts the page's system; resolves once the outbox and this tab's history are loaded. */
export async function startTodoApp({ tab, online = true, storage = indexedDbStorage(`happen-todo-${tab}`) }: TodoAppOptions): Promise<TodoApp> {
  const cable = offlineSwitch(broadcastChannel({ mesh: TODO_MESH.mesh }), online);
  const link = mesh({ transports: [cable.transport], heartbeatMs: TODO_MESH.heartbeatMs, durable: { storage, ackTimeoutMs: TODO_MESH.ackTimeoutMs } });
  const happen = createHappen({ id: `tab-${tab}`, extensions: [link] });
  const node = happen.createNode(`todo-${tab}`, { storage, persistEvents: CHANGE_TYPES });
  const listeners = new Set<() => void>();
  const changed = () => listeners.forEach((l) => l());

  await Promise.all([link.ready, node.ready]);
  const mine: HappenEvent[] = [];
  for await (const event of nodeLog(storage, node.id).events()) mine.push(event);
  let store = await storage.get<StoreSnapshot>(SNAPSHOT_KEY);
  // On a first visit, let the store be heard before anything is emitted, so the first events are
  // numbered for it even if the tab goes offline right away (a broadcast goes to the systems known).
  if (online) await link.waitForNode(STORE_NODE, { timeout: 3_000 }).catch(() => {});

  const emit = async (input: EventInput) => {
    const event = await node.emit(input); // in the log and the outbox: durable from here on
    mine.push(event);
    changed();
    return event;
  };

  const view = (): TodoView => {
    const base = store ?? EMPTY;
    const applied = new Set(base.applied);
    const waiting = mine.filter((e) => !applied.has(e.id));
    const touched = new Set(waiting.map((e) => (e.payload as { id: string }).id));
    const todos = waiting.reduce<Todo[]>(applyChange, base.todos);
    return { todos: todos.map((t) => ({ ...t, pending: touched.has(t.id) })), online: cable.online, queued: link.queue().depth, store };
  };

  let asking: Promise<StoreSnapshot | undefined> | undefined;
  const refresh = () =>
    (asking ??= (async () => {
      if (!cable.online) return undefined;
      try {
        store = await node.send<StoreSnapshot>(STORE_NODE, { type: LIST_TYPE }).return({ timeout: 5_000 });
        await storage.put(SNAPSHOT_KEY, store);
        changed();
        return store;
      } catch {
        return undefined; // not reachable right now; the next refresh tries again
      } finally {
        asking = undefined;
      }
    })());

  return {
    system: happen.id,
    node: node.id,
    view,
    add: (title) => emit(TodoAdded.create({ id: crypto.randomUUID().slice(0, 8), title: title.trim() })),
    toggle: (id) => emit(TodoToggled.create({ id })),
    remove: (id) => emit(TodoRemoved.create({ id })),
    setOnline(next) {
      cable.setOnline(next);
      changed();
    },
    refresh,
    emitted: () => mine.map((e) => e.id),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => link.close(),
  };
}
