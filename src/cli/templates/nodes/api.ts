/** The `api` node template: request/response handlers over events, each payload checked by a valibot schema. */
import { fill, type NodeTemplate } from '../files.ts';

const source = `/**
 * The \`__name__\` node: a small request/response API over events. Send it \`__name__.create\`,
 * \`__name__.get\`, \`__name__.update\` or \`__name__.list\` and await the answer with \`.return()\`.
 * Each payload is checked by the valibot schema its event is defined with, so a bad request never
 * reaches a handler: the sender gets a \`validation\` error (\`INVALID_PAYLOAD\`) instead. An unknown
 * id is a \`NOT_FOUND\` error. The items live in the node's state (persisted when the node is given
 * storage).
 *
 *   const item = await ui.send('__name__', Create__Name__.create({ title: 'Ship it' })).return();
 *   const { items } = await ui.send('__name__', List__Name__.create({ done: false })).return();
 */
import { defineEvent, HappenError, type Happen, type HappenNode } from 'happen';
import * as v from 'valibot';

/** One item the API keeps. */
export interface __Name__Item {
  id: string;
  title: string;
  done: boolean;
  createdAt: number;
  updatedAt: number;
}

/** The node's state: the items by id, and the next id to hand out. */
export interface __Name__State {
  items: Record<string, __Name__Item>;
  nextId: number;
}

const title = v.pipe(v.string(), v.trim(), v.minLength(1, 'title must not be empty'), v.maxLength(200, 'title must be at most 200 characters'));
const id = v.pipe(v.string(), v.minLength(1, 'id must not be empty'));

/** \`__name__.create\` → the new item. */
export const Create__Name__ = defineEvent('__name__.create', v.object({ title, done: v.optional(v.boolean(), false) }));
/** \`__name__.get\` → the item, or a \`NOT_FOUND\` error. */
export const Get__Name__ = defineEvent('__name__.get', v.object({ id }));
/** \`__name__.update\` → the updated item, or a \`NOT_FOUND\` error. */
export const Update__Name__ = defineEvent('__name__.update', v.object({ id, title: v.optional(title), done: v.optional(v.boolean()) }));
/** \`__name__.list\` → \`{ items }\`, oldest first; optionally only done (or open) ones; at most \`limit\` (default 50). */
export const List__Name__ = defineEvent(
  '__name__.list',
  v.object({ done: v.optional(v.boolean()), limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(500)), 50) }),
);

/** Creates the \`__name__\` node in \`happen\`. */
export default function setup(happen: Happen): HappenNode<__Name__State> {
  const node = happen.createNode<__Name__State>('__name__', { state: { items: {}, nextId: 1 } });

  const find = (itemId: string): __Name__Item => {
    const item = node.state.get().items[itemId];
    if (!item) throw new HappenError('validation', 'NOT_FOUND', 'No __name__ item ' + JSON.stringify(itemId), { id: itemId });
    return item;
  };
  const save = (item: __Name__Item): __Name__Item => {
    node.state.set((state) => ({ ...state, items: { ...state.items, [item.id]: item } }));
    return item;
  };

  node.on(Create__Name__, (event) => {
    const now = Date.now();
    const itemId = String(node.state.get().nextId);
    node.state.set((state) => ({ ...state, nextId: state.nextId + 1 }));
    return save({ id: itemId, title: event.payload.title, done: event.payload.done, createdAt: now, updatedAt: now });
  });

  node.on(Get__Name__, (event) => find(event.payload.id));

  node.on(Update__Name__, (event) => {
    const { id: itemId, title: newTitle, done } = event.payload;
    const item = find(itemId);
    return save({ ...item, title: newTitle ?? item.title, done: done ?? item.done, updatedAt: Date.now() });
  });

  node.on(List__Name__, (event) => {
    const { done, limit } = event.payload;
    // Integer-like keys keep ascending order in an object, which is creation order here.
    const items = Object.values(node.state.get().items).filter((item) => done === undefined || item.done === done);
    return { items: items.slice(0, limit) };
  });

  return node;
}
`;

/** Request/response handlers with valibot schemas. */
export const apiTemplate: NodeTemplate = {
  id: 'api',
  summary: 'request/response handlers (create, get, update, list) with valibot schemas',
  events: (name) => ['create', 'get', 'update', 'list'].map((verb) => `${name}.${verb}`),
  render: (names) => fill(source, names),
};
