/**
 * The store: the todo list's system of record, a Happen system of its own (here in a dedicated worker,
 * standing in for a server). Its `store` node applies every change event it receives and answers
 * `todo.list` with its snapshot. Each change is written to IndexedDB before the handler returns, so
 * the durable mesh acks only what is saved; an event handed over again (a crash between the write and
 * the ack) is recognised by its id and counted, not applied twice.
 */
import { createHappen, type HappenEvent } from '../../src/index.ts';
import { mesh, type Mesh } from '../../src/mesh/index.ts';
import { indexedDbStorage } from '../../src/storage/indexeddb.ts';
import type { Storage } from '../../src/storage/index.ts';
import { broadcastChannel } from '../../src/transports/broadcast-channel.ts';
import { applyChange, EMPTY, LIST_TYPE, TodoAdded, TodoRemoved, TodoToggled, type StoreSnapshot } from './todos.ts';

/** The store's system id. */
export const STORE_SYSTEM = 'todo-store';
/** The store's node id, which the pages address. */
export const STORE_NODE = 'store';
const STATE_KEY = 'todo/store';

/** Options shared by every system of the todo mesh. */
export const TODO_MESH = { mesh: 'happen-todo', heartbeatMs: 1_000, ackTimeoutMs: 2_000 };

/** Starts the store on `storage` (default: the IndexedDB database `happen-todo-store`). */
export async function startStore(storage: Storage = indexedDbStorage('happen-todo-store')): Promise<Mesh> {
  let snapshot: StoreSnapshot = (await storage.get<StoreSnapshot>(STATE_KEY)) ?? EMPTY;
  const applied = new Set(snapshot.applied);
  const link = mesh({
    transports: [broadcastChannel({ mesh: TODO_MESH.mesh })],
    heartbeatMs: TODO_MESH.heartbeatMs,
    durable: { storage, ackTimeoutMs: TODO_MESH.ackTimeoutMs },
  });
  const happen = createHappen({ id: STORE_SYSTEM, extensions: [link] });
  const store = happen.createNode(STORE_NODE);

  const apply = async (event: HappenEvent) => {
    if (applied.has(event.id)) {
      snapshot = { ...snapshot, duplicates: snapshot.duplicates + 1 };
    } else {
      applied.add(event.id);
      snapshot = { todos: applyChange(snapshot.todos, event), applied: [...snapshot.applied, event.id], duplicates: snapshot.duplicates };
    }
    await storage.put(STATE_KEY, snapshot); // saved before the handler returns, so before the ack
  };
  for (const definition of [TodoAdded, TodoToggled, TodoRemoved]) store.on(definition, apply);
  store.on(LIST_TYPE, () => snapshot);
  await link.ready;
  return link;
}
