/** The `db` node template: a store on `happen/storage` wrapped as a node, with insert, query and delete events. */
import { fill, type NodeTemplate } from '../files.ts';

const source = `/**
 * The \`__name__\` node: a database wrapped as a node. Rows live in a \`happen/storage\` Storage — in
 * memory by default; pass \`indexedDbStorage(...)\`, \`denoKvStorage(...)\` or \`durableObjectStorage(...)\`
 * to keep them — one key per row, \`__name__/<table>/<id>\`. Other nodes never touch the store: they
 * send \`__name__.insert\`, \`__name__.query\` and \`__name__.delete\`, and every change is broadcast as
 * \`__name__.changed\` (causally linked to the request that made it).
 *
 *   const { id } = await ui.send('__name__', Insert__Name__.create({ table: 'users', row: { name: 'sarah', plan: 'pro' } })).return();
 *   const { rows } = await ui.send('__name__', Query__Name__.create({ table: 'users', where: { plan: 'pro' } })).return();
 *
 * A query reads the table's rows in id order and keeps those whose fields equal every \`where\`
 * field: a scan, which is fine for thousands of rows; for more, keep an index key per queried field.
 */
import { defineEvent, type Happen, type HappenNode } from 'happen';
import { memoryStorage, type Storage } from 'happen/storage';
import * as v from 'valibot';

/** A field value: what \`where\` compares by equality. */
export type __Name__Value = string | number | boolean | null;
/** A stored row: its fields and the \`id\` the node gave it. */
export type __Name__Row = Record<string, __Name__Value> & { id: string };
/** What \`__name__.changed\` carries. */
export interface __Name__Change {
  table: string;
  id: string;
  change: 'insert' | 'delete';
}

const table = v.pipe(v.string(), v.regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'table must be a letter, then letters, digits or _ (at most 64)'));
const rowId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'id must be 1-64 letters, digits, _ or -'));
const fields = v.record(v.string(), v.union([v.string(), v.number(), v.boolean(), v.null()]));

/** \`__name__.insert\` → \`{ id }\`. With an \`id\`, the row with that id is replaced. */
export const Insert__Name__ = defineEvent('__name__.insert', v.object({ table, row: fields, id: v.optional(rowId) }));
/** \`__name__.query\` → \`{ rows }\`: rows matching every \`where\` field, in id order, at most \`limit\` (default 100). */
export const Query__Name__ = defineEvent(
  '__name__.query',
  v.object({ table, where: v.optional(fields, {}), limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)), 100) }),
);
/** \`__name__.delete\` → \`{ deleted }\`: whether the row existed. */
export const Delete__Name__ = defineEvent('__name__.delete', v.object({ table, id: rowId }));

/** Creates the \`__name__\` node in \`happen\`, keeping its rows in \`storage\`. */
export default function setup(happen: Happen, storage: Storage = memoryStorage()): HappenNode {
  const node = happen.createNode('__name__');
  const prefix = (name: string) => '__name__/' + name + '/';
  let sequence = 0;
  // Ids sort by creation time (so a query returns rows in insertion order); the random tail keeps
  // two writers, or a restart within the same millisecond, from colliding.
  const newId = () => Date.now().toString(36).padStart(9, '0') + (sequence++ % 1296).toString(36).padStart(2, '0') + crypto.randomUUID().slice(0, 6);

  node.on(Insert__Name__, async (event, ctx) => {
    const { table: name, row } = event.payload;
    const id = event.payload.id ?? newId();
    await storage.put(prefix(name) + id, { ...row, id });
    ctx.broadcast({ type: '__name__.changed', payload: { table: name, id, change: 'insert' } satisfies __Name__Change });
    return { id };
  });

  node.on(Query__Name__, async (event) => {
    const { table: name, where, limit } = event.payload;
    const rows: __Name__Row[] = [];
    for (const [, row] of await storage.list<__Name__Row>({ prefix: prefix(name) })) {
      if (!Object.entries(where).every(([field, value]) => row[field] === value)) continue;
      rows.push(row);
      if (rows.length === limit) break;
    }
    return { rows };
  });

  node.on(Delete__Name__, async (event, ctx) => {
    const { table: name, id } = event.payload;
    const deleted = await storage.delete(prefix(name) + id);
    if (deleted) ctx.broadcast({ type: '__name__.changed', payload: { table: name, id, change: 'delete' } satisfies __Name__Change });
    return { deleted };
  });

  return node;
}
`;

/** A storage-backed database node. */
export const dbTemplate: NodeTemplate = {
  id: 'db',
  summary: 'a happen/storage store wrapped as a node: insert, query, delete events; changes broadcast',
  events: (name) => ['insert', 'query', 'delete'].map((verb) => `${name}.${verb}`),
  render: (names) => fill(source, names),
};
