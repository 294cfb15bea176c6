/** `createWorkflow`: a node that runs durable instances of a sequence of steps, and answers for them over the mesh. */
import { HappenError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';
import { createIdGenerator } from '../core/ids.ts';
import { defaultHappen } from '../core/index.ts';
import type { HappenNode } from '../core/node-api.ts';
import { compileWorkflow, type CompiledWorkflow } from './definition.ts';
import { Engine } from './engine.ts';
import { storable } from './execute.ts';
import { timerScheduler } from './scheduler.ts';
import { InstanceStore, isTerminal, snapshot, type InstanceRecord } from './store.ts';
import { outcomeOf } from './transitions.ts';
import type { InstanceStatus, StartOptions, Workflow, WorkflowConfig, WorkflowInstance } from './types.ts';

const STATUSES = new Set<InstanceStatus>(['running', 'sleeping', 'waiting', 'completed', 'failed', 'compensating', 'compensated']);
// Instance ids are storage keys: printable ASCII, so every backend orders them alike.
const INSTANCE_ID = /^[\x21-\x7e]{1,200}$/;

/**
 * Creates a workflow: the node `id` in `config.happen`, running instances of `config.steps` with their
 * progress on `config.storage`. Creating it again on the same storage (after a crash or a restart)
 * resumes every unfinished instance where it stopped: a completed step never runs again, and a step
 * the crash interrupted runs again (at least once) with the same `ctx.idempotencyKey`, so its receiver
 * can drop the repeat. Throws `INVALID_CONFIG` for a bad definition.
 *
 * Its node handles `workflow.start` (`{ input?, instanceId? }` → `{ instanceId }`) and
 * `workflow.status` (`{ instanceId }` → the instance, or `{ status? }` → a list), and broadcasts
 * `workflow.started` / `resumed`, `workflow.step.started` / `completed` / `failed` (with `phase`
 * `run` or `compensate`), `workflow.compensating`, and `workflow.completed` / `failed` / `compensated`,
 * all under the instance's correlation id.
 */
export function createWorkflow(id: string, config: WorkflowConfig): Workflow {
  // Its storage keys start with the id: a "/" in it could make one workflow's keys another's.
  if (typeof id !== 'string' || id.includes('/')) {
    throw new HappenError('validation', 'INVALID_CONFIG', `createWorkflow(): the id must be a node id without "/" (got ${JSON.stringify(id) ?? String(id)})`, { path: 'id' });
  }
  return new WorkflowImpl(id, config, compileWorkflow(id, config));
}

type Waiter = { resolve: (value: any) => void; reject: (error: unknown) => void };

class WorkflowImpl implements Workflow {
  readonly node: HappenNode;
  readonly ready: Promise<void>;
  readonly #def: CompiledWorkflow;
  readonly #store: InstanceStore;
  readonly #engine: Engine;
  readonly #now: () => number;
  readonly #ids = createIdGenerator();
  readonly #waiters = new Map<string, Waiter[]>();
  readonly #starting = new Set<string>();
  #closing: Promise<void> | undefined;

  constructor(
    readonly id: string,
    config: WorkflowConfig,
    def: CompiledWorkflow,
  ) {
    this.#def = def;
    this.#now = config.now ?? Date.now;
    this.node = (config.happen ?? defaultHappen()).createNode(id);
    this.#store = new InstanceStore(config.storage, id);
    const host = {
      workflowId: id,
      def,
      store: this.#store,
      node: this.node,
      now: this.#now,
      scheduler: config.scheduler ?? timerScheduler(this.#now),
      settled: (record: InstanceRecord) => this.#settle(record),
    };
    this.#engine = new Engine(host, () => void this.wake().catch(() => undefined));
    this.node.on('workflow.start', (event) => this.#onStart(event));
    this.node.on('workflow.status', (event) => this.#onStatus(event));
    this.ready = this.resume().then(() => undefined);
    this.ready.catch(() => undefined); // a failed resume rejects `ready` for whoever awaits it, and nothing else
  }

  async start(input?: unknown, options: StartOptions = {}): Promise<string> {
    this.#open();
    if (typeof options !== 'object' || options === null) throw invalid('INVALID_START', 'start(): options must be an object');
    const instanceId = options.instanceId ?? this.#ids(this.#now());
    assertInstanceId(instanceId);
    for (const key of ['correlationId', 'causationId'] as const) {
      const value = options[key];
      if (value !== undefined && (typeof value !== 'string' || value.length === 0)) throw invalid('INVALID_START', `start(): ${key} must be a non-empty string`);
    }
    if (!storable(input)) throw invalid('INVALID_INPUT', 'start(): the input must be structured-cloneable and JSON-measurable data');
    const now = this.#now();
    const first = this.#def.steps[0]!;
    const record: InstanceRecord = {
      v: 1,
      rev: 1,
      id: instanceId,
      workflow: this.id,
      status: 'running',
      currentStep: first.id,
      input,
      data: {},
      history: [],
      correlationId: options.correlationId ?? instanceId,
      createdAt: now,
      updatedAt: now,
      attempt: 0,
      failures: 0,
      visits: { [first.id]: 1 },
      stepsRun: 1,
    };
    this.#starting.add(instanceId);
    try {
      // An id that exists already is that instance: a repeated start (a redelivered event) starts nothing.
      if (!(await this.#store.create(record)) || this.#engine.closed || this.#engine.lives.has(instanceId)) return instanceId;
      const started = this.node.broadcast({
        type: 'workflow.started',
        payload: { workflow: this.id, instanceId, input },
        causationId: options.causationId,
        correlationId: record.correlationId,
      });
      this.#engine.adopt(record, started.id);
    } finally {
      this.#starting.delete(instanceId);
    }
    return instanceId;
  }

  async instance(id: string): Promise<WorkflowInstance | undefined> {
    assertInstanceId(id);
    const record = this.#engine.lives.get(id)?.record ?? (await this.#store.get(id));
    return record === undefined ? undefined : snapshot(record);
  }

  async instances(filter: { status?: InstanceStatus | InstanceStatus[] } = {}): Promise<WorkflowInstance[]> {
    if (typeof filter !== 'object' || filter === null) throw invalid('INVALID_QUERY', 'instances(): the filter must be an object');
    const wanted = filter.status === undefined ? undefined : Array.isArray(filter.status) ? filter.status : [filter.status];
    if (wanted?.some((s) => !STATUSES.has(s))) throw invalid('INVALID_QUERY', `instances(): status must be one of ${[...STATUSES].join(', ')}`);
    const records = await this.#store.all();
    return records.filter((r) => wanted === undefined || wanted.includes(r.status)).map(snapshot);
  }

  async result<T = unknown>(id: string): Promise<T> {
    assertInstanceId(id);
    this.#open();
    let waiter!: Waiter;
    const promise = new Promise<T>((resolve, reject) => (waiter = { resolve, reject }));
    promise.catch(() => undefined); // settled before the caller attaches its handler is not "unhandled"
    // Registered before reading storage, so an instance finishing meanwhile still settles it.
    this.#waiters.set(id, [...(this.#waiters.get(id) ?? []), waiter]);
    if (!this.#engine.lives.has(id)) {
      const record = await this.#store.get(id).catch((error: unknown) => {
        this.#drop(id, waiter);
        throw error;
      });
      if (record === undefined) {
        this.#drop(id, waiter);
        throw new HappenError('validation', 'NO_SUCH_INSTANCE', `Workflow ${this.id} has no instance "${id}"`, { instanceId: id });
      }
      if (isTerminal(record.status)) this.#settle(record);
    }
    return promise;
  }

  async resume(): Promise<number> {
    if (this.#engine.closed) return 0;
    let resumed = 0;
    for (const id of await this.#store.active()) {
      if (this.#engine.closed) break;
      if (this.#engine.lives.has(id) || this.#starting.has(id)) continue;
      const record = await this.#store.get(id);
      if (record === undefined || isTerminal(record.status) || this.#engine.closed || this.#engine.lives.has(id) || this.#starting.has(id)) continue;
      const event = this.node.broadcast({
        type: 'workflow.resumed',
        payload: { workflow: this.id, instanceId: id, status: record.status, step: record.currentStep },
        correlationId: record.correlationId,
      });
      this.#engine.adopt(record, event.id);
      resumed++;
    }
    this.#engine.reschedule();
    return resumed;
  }

  async wake(): Promise<void> {
    await this.ready.catch(() => undefined);
    if (this.#engine.closed) return;
    this.#engine.forgetSchedule(); // the timer (or alarm) that called us is spent
    await this.resume(); // also retries instances that stalled on a storage failure
    const now = this.#now();
    const due = [...this.#engine.lives.values()].filter((live) => live.record.wakeAt !== undefined && live.record.wakeAt <= now);
    await Promise.all(due.map((live) => this.#engine.kick(live)));
    this.#engine.reschedule();
  }

  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const engineClosed = this.#engine.close();
    const error = new HappenError('runtime', 'WORKFLOW_CLOSED', `Workflow ${this.id} was closed`);
    for (const waiters of this.#waiters.values()) for (const w of waiters) w.reject(error);
    this.#waiters.clear();
    this.node.destroy();
    this.#closing = engineClosed;
    return engineClosed;
  }

  #settle(record: InstanceRecord): void {
    const waiters = this.#waiters.get(record.id);
    if (!waiters) return;
    this.#waiters.delete(record.id);
    const outcome = outcomeOf(record);
    for (const w of waiters) {
      if (outcome.ok) w.resolve(outcome.value);
      else w.reject(outcome.error);
    }
  }

  #drop(id: string, waiter: Waiter): void {
    const rest = (this.#waiters.get(id) ?? []).filter((w) => w !== waiter);
    if (rest.length > 0) this.#waiters.set(id, rest);
    else this.#waiters.delete(id);
  }

  #open(): void {
    if (this.#engine.closed) throw new HappenError('runtime', 'WORKFLOW_CLOSED', `Workflow ${this.id} was closed`);
  }

  async #onStart(event: HappenEvent): Promise<{ instanceId: string }> {
    const p = event.payload as { input?: unknown; instanceId?: string } | undefined;
    if (p !== undefined && (typeof p !== 'object' || p === null)) throw invalid('INVALID_START', 'workflow.start: the payload must be { input?, instanceId? }');
    const instanceId = await this.start(p?.input, { instanceId: p?.instanceId, causationId: event.id, correlationId: event.context.causal.correlationId });
    return { instanceId };
  }

  async #onStatus(event: HappenEvent): Promise<WorkflowInstance | WorkflowInstance[]> {
    const p = (event.payload ?? {}) as { instanceId?: string; status?: InstanceStatus | InstanceStatus[] };
    if (typeof p !== 'object' || p === null) throw invalid('INVALID_QUERY', 'workflow.status: the payload must be { instanceId } or { status? }');
    if (p.instanceId === undefined) return this.instances({ status: p.status });
    const found = await this.instance(p.instanceId);
    if (found === undefined) throw new HappenError('validation', 'NO_SUCH_INSTANCE', `Workflow ${this.id} has no instance "${p.instanceId}"`, { instanceId: p.instanceId });
    return found;
  }
}

function assertInstanceId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !INSTANCE_ID.test(id)) {
    throw invalid('INVALID_INSTANCE_ID', `An instance id must be 1-200 printable ASCII characters without spaces (got ${JSON.stringify(id) ?? String(id)})`);
  }
}

function invalid(code: string, message: string): HappenError {
  return new HappenError('validation', code, message);
}
