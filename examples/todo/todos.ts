/**
 * The todo list's events and the one reducer both sides use: the page folds its own events over the
 * store's last answer (so it shows what is still queued), and the store folds what it receives.
 */
import * as v from 'valibot';
import { defineEvent, type HappenEvent } from '../../src/index.ts';

/** One item. */
export interface Todo {
  id: string;
  title: string;
  done: boolean;
}

/** A todo was added: `id` is chosen by the page, so later events can name it before the store has it. */
export const TodoAdded = defineEvent('todo.added', v.object({ id: v.pipe(v.string(), v.minLength(1)), title: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(200)) }));
/** A todo's `done` flipped. */
export const TodoToggled = defineEvent('todo.toggled', v.object({ id: v.pipe(v.string(), v.minLength(1)) }));
/** A todo was removed. */
export const TodoRemoved = defineEvent('todo.removed', v.object({ id: v.pipe(v.string(), v.minLength(1)) }));

/** The types that change the list (and are queued while offline). */
export const CHANGE_TYPES = [TodoAdded.type, TodoToggled.type, TodoRemoved.type];
/** The request the page sends the store for its list. */
export const LIST_TYPE = 'todo.list';

/** What the store answers to {@link LIST_TYPE}. */
export interface StoreSnapshot {
  todos: Todo[];
  /** The ids of the events the store applied, in the order it applied them. */
  applied: string[];
  /** Events handed to the store again after it had applied them (0 unless something went wrong). */
  duplicates: number;
}

/** An empty store. */
export const EMPTY: StoreSnapshot = { todos: [], applied: [], duplicates: 0 };

/** Applies one change event to a list, returning the new list (the old one is not modified). */
export function applyChange(todos: readonly Todo[], event: Pick<HappenEvent, 'type' | 'payload'>): Todo[] {
  const { id } = event.payload as { id: string };
  switch (event.type) {
    case TodoAdded.type:
      return todos.some((t) => t.id === id) ? [...todos] : [...todos, { id, title: (event.payload as { title: string }).title, done: false }];
    case TodoToggled.type:
      return todos.map((t) => (t.id === id ? { ...t, done: !t.done } : t));
    case TodoRemoved.type:
      return todos.filter((t) => t.id !== id);
    default:
      return [...todos];
  }
}
