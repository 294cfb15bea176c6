/**
 * Durable progress of a workflow's instances on a `Storage`. One record per instance, rewritten at
 * every transition, plus an `active` marker holding its revision while it is unfinished: resuming
 * lists only the markers, and every write checks the marker still holds the revision it read, so a
 * second writer (another tab, a stale object) gets `CONFLICT` instead of overwriting progress.
 */
import type { Storage } from '../storage/storage.ts';
import type { InstanceStatus, WorkflowInstance } from './types.ts';

/** What is persisted per instance: the public snapshot plus the engine's bookkeeping. */
export interface InstanceRecord extends WorkflowInstance {
  v: 1;
  /** Bumped by every write; the `active` marker holds it too. */
  rev: number;
  /** Attempts of the current step (or compensation) so far. */
  attempt: number;
  /** Failed attempts of it so far: what retries count (an interrupted attempt is no failure). */
  failures: number;
  /** How often each step was entered (loops), for idempotency keys. */
  visits: Record<string, number>;
  /** Steps entered in all, for `maxSteps`. */
  stepsRun: number;
  /** While compensating: history indices of the completed runs left to undo, next first. */
  compensation?: { queue: number[] };
}

const TERMINAL = new Set<InstanceStatus>(['completed', 'failed', 'compensated']);

/** True for `completed`, `failed` and `compensated`. */
export function isTerminal(status: InstanceStatus): boolean {
  return TERMINAL.has(status);
}

/** The public snapshot of a record (a copy). */
export function snapshot(record: InstanceRecord): WorkflowInstance {
  const { v: _v, rev: _rev, attempt: _a, failures: _f, visits: _vi, stepsRun: _s, compensation: _c, ...rest } = structuredClone(record);
  return rest;
}

/** Reads and writes one workflow's instance records. */
export class InstanceStore {
  readonly #records: string;
  readonly #active: string;

  constructor(
    readonly storage: Storage,
    workflowId: string,
  ) {
    this.#records = `workflow/${workflowId}/instance/`;
    this.#active = `workflow/${workflowId}/active/`;
  }

  /** Writes a new instance; resolves to false (writing nothing) when the id is taken. */
  async create(record: InstanceRecord): Promise<boolean> {
    try {
      await this.storage.batch(
        [
          { type: 'put', key: this.#records + record.id, value: record },
          { type: 'put', key: this.#active + record.id, value: record.rev },
        ],
        [{ key: this.#records + record.id, value: undefined }],
      );
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === 'CONFLICT') return false;
      throw error;
    }
  }

  /**
   * Writes the next revision of `record` (a finished one drops its marker); rejects with `CONFLICT`
   * when someone else wrote since. Resolves to the record as written.
   */
  async save(record: InstanceRecord): Promise<InstanceRecord> {
    const next = { ...record, rev: record.rev + 1 };
    const marker = this.#active + record.id;
    await this.storage.batch(
      [
        { type: 'put', key: this.#records + record.id, value: next },
        isTerminal(next.status) ? { type: 'delete', key: marker } : { type: 'put', key: marker, value: next.rev },
      ],
      [{ key: marker, value: record.rev }],
    );
    return next;
  }

  /** The record of one instance. */
  get(id: string): Promise<InstanceRecord | undefined> {
    return this.storage.get<InstanceRecord>(this.#records + id);
  }

  /** Ids of the unfinished instances. */
  async active(): Promise<string[]> {
    const entries = await this.storage.list({ prefix: this.#active });
    return entries.map(([key]) => key.slice(this.#active.length));
  }

  /** Every record, oldest first. */
  async all(): Promise<InstanceRecord[]> {
    const entries = await this.storage.list<InstanceRecord>({ prefix: this.#records });
    return entries.map(([, r]) => r).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
