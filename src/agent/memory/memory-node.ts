/** A memory as a node: other nodes (here or across the mesh) store and retrieve through events. */
import { defaultHappen } from '../../core/index.ts';
import type { HappenNode } from '../../core/node-api.ts';
import type { Happen } from '../../core/system-api.ts';
import { jsonStandardSchema } from '../json-standard-schema.ts';
import type { JsonSchema } from '../model.ts';
import type { MemoryPatch, MemorySystem, RetrieveOptions, StoreOptions } from '../memory-system.ts';

/** Options of {@link createMemoryNode}. */
export interface MemoryNodeOptions {
  /** The memory the node serves. */
  memory: MemorySystem;
  /** The system to create the node in (default: `defaultHappen()`). */
  happen?: Happen;
}

const id = { type: 'string', minLength: 1 };
const metadata = { type: 'object' };
const ttl = { type: 'number', exclusiveMinimum: 0 };
const payloads = {
  'memory.store': { properties: { content: { type: 'string' }, id, metadata, ttl }, required: ['content'] },
  'memory.retrieve': { properties: { query: { type: 'string' }, limit: { type: 'integer', minimum: 0 }, minScore: { type: 'number' } }, required: ['query'] },
  'memory.get': { properties: { id }, required: ['id'] },
  'memory.update': {
    properties: { id, patch: { type: 'object', properties: { content: { type: 'string' }, metadata, ttl: { anyOf: [ttl, { type: 'null' }] } }, additionalProperties: false } },
    required: ['id', 'patch'],
  },
  'memory.forget': { properties: { id }, required: ['id'] },
};

/**
 * Creates a node that serves `memory` as events; each answers a `send(...).return()`:
 * `memory.store` `{ content, id?, metadata?, ttl? }` → the `MemoryItem`;
 * `memory.retrieve` `{ query, limit?, minScore? }` → `MemoryHit[]`;
 * `memory.get` `{ id }` → the item, or `null` when absent (`null` crosses every transport);
 * `memory.update` `{ id, patch }` → the item (`MEMORY_NOT_FOUND` when absent);
 * `memory.forget` `{ id }` → whether a live item was removed.
 * A payload of the wrong shape gets a `validation` `INVALID_PAYLOAD` error reply and never reaches the memory.
 */
export function createMemoryNode(nodeId: string, options: MemoryNodeOptions): HappenNode {
  const { memory } = options;
  const node = (options.happen ?? defaultHappen()).createNode(nodeId);
  const on = <P>(type: keyof typeof payloads, handler: (payload: P) => unknown) =>
    node.on(type, { schema: jsonStandardSchema({ type: 'object', additionalProperties: false, ...payloads[type] }) }, (event) => handler(event.payload as P));

  on<StoreOptions & { content: string }>('memory.store', ({ content, ...rest }) => memory.store(content, rest));
  on<RetrieveOptions & { query: string }>('memory.retrieve', ({ query, ...rest }) => memory.retrieve(query, rest));
  on<{ id: string }>('memory.get', async (p) => (await memory.get(p.id)) ?? null);
  on<{ id: string; patch: MemoryPatch }>('memory.update', (p) => memory.update(p.id, p.patch));
  on<{ id: string }>('memory.forget', (p) => memory.forget(p.id));
  return node;
}
