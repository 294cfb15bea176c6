/**
 * The ops node (ops-contract.ts): one per system, answering health, metrics and dead-letter events,
 * so a hub, its dashboard or the CLI asks any system of the mesh without knowing where it runs.
 */
import { HappenError } from '../core/errors.ts';
import type { HappenNode } from '../core/node-api.ts';
import type { Happen } from '../core/system-api.ts';
import type { DeadLetter, DeadLetters } from '../mesh/dead-letters.ts';
import { OPS_EVENTS, opsNodeId, type DeadLetterSummary, type MetricsSnapshot, type SystemHealth } from './ops-contract.ts';

/** What the ops node reports from. */
export interface OpsSource {
  health(): Promise<SystemHealth>;
  metrics(): Promise<MetricsSnapshot>;
  /** The system's dead-letter queue (an empty one without a durable mesh). */
  deadLetters(): DeadLetters;
}

/** The mesh's event for a new dead letter, counted by the ops node. */
export const DEAD_LETTER_EVENT = 'mesh.dead-letter';

const DEFAULT_LIMIT = 100;

/** Creates the system's ops node; `deadLetter` is called for each `mesh.dead-letter` the system reports. */
export function createOpsNode(happen: Happen, source: OpsSource, deadLetter: () => void): HappenNode {
  const node = happen.createNode(opsNodeId(happen.id));
  node.on(OPS_EVENTS.health, () => source.health());
  node.on(OPS_EVENTS.metrics, () => source.metrics());
  node.on(OPS_EVENTS.deadLetters, async (event) => {
    const limit = limitOf(event.payload);
    const letters = await source.deadLetters().list();
    // Newest first: the ones an operator is looking for.
    return letters.sort((a, b) => b.deadAt - a.deadAt).slice(0, limit).map(summary);
  });
  node.on(OPS_EVENTS.redrive, async (event) => ({ redriven: await source.deadLetters().redrive(keyOf(event.payload, OPS_EVENTS.redrive)) }));
  node.on(OPS_EVENTS.discard, async (event) => ({ discarded: await source.deadLetters().discard(keyOf(event.payload, OPS_EVENTS.discard)) }));
  node.on(DEAD_LETTER_EVENT, () => void deadLetter());
  return node;
}

function summary(letter: DeadLetter): DeadLetterSummary {
  const out: DeadLetterSummary = { key: letter.key, event: letter.event, attempts: letter.attempts, deadAt: letter.deadAt };
  if (letter.system !== undefined) out.system = letter.system;
  if (letter.lastError !== undefined) out.lastError = letter.lastError;
  return out;
}

function limitOf(payload: unknown): number {
  const limit = payload === undefined || payload === null ? undefined : (payload as { limit?: unknown }).limit;
  if (limit === undefined) return DEFAULT_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
    throw new HappenError('validation', 'INVALID_INPUT', `${OPS_EVENTS.deadLetters}: limit must be a positive integer (got ${String(limit)})`);
  }
  return limit;
}

function keyOf(payload: unknown, type: string): string {
  const key = typeof payload === 'object' && payload !== null ? (payload as { key?: unknown }).key : undefined;
  if (typeof key !== 'string' || key.length === 0) throw new HappenError('validation', 'INVALID_INPUT', `${type}: payload.key must name a dead letter`);
  return key;
}
