/** The supervisor itself: one serial queue of everything done to its children, its strategies and its restart intensity. */
import { HappenError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';
import type { Happen } from '../core/system-api.ts';
import type { ChildInfo, ChildStatus, Supervisor, SupervisorStatus } from './supervisor-api.ts';
import { startChild, stopChild, type Incarnation, type ParentLink } from './supervisor-child.ts';
import type { CheckedChild, CheckedConfig } from './supervisor-spec.ts';

interface Entry {
  child: CheckedChild;
  status: ChildStatus;
  restarts: number;
  inc: Incarnation | undefined;
  /** The running incarnation, or the marker of a failed restart waiting to be retried: an exit reported with anything else is stale. */
  token: object;
}

const idle = (): void => {};

/** The implementation behind {@link Supervisor}; created by `createSupervisor` or by a parent supervisor. */
export class SupervisorImpl implements Supervisor {
  readonly id: string;
  #status: SupervisorStatus = 'idle';
  #entries: Entry[] = [];
  #restarts: number[] = []; // times of the restarts still inside the window
  #tail: Promise<void> = Promise.resolve();
  readonly #now: () => number;

  constructor(
    private readonly config: CheckedConfig,
    private readonly happen: Happen,
    now: () => number,
    private readonly parent?: ParentLink,
  ) {
    this.id = config.id;
    this.#now = config.now ?? now;
  }

  get status(): SupervisorStatus {
    return this.#status;
  }

  start(): Promise<void> {
    if (this.#status !== 'idle' && this.#status !== 'stopped' && this.#status !== 'failed') {
      return Promise.reject(new HappenError('runtime', 'SUPERVISOR_RUNNING', `Supervisor "${this.id}" is ${this.#status}`));
    }
    this.#status = 'starting';
    this.#restarts = [];
    this.#entries = this.config.children.map((child) => ({ child, status: 'stopped', restarts: 0, inc: undefined, token: {} }));
    return this.enqueue(async () => {
      for (const entry of this.#entries) {
        if (this.#status !== 'starting') return; // stop() was called meanwhile; its turn comes next
        try {
          await this.launch(entry);
        } catch (error) {
          const reason = HappenError.from(error);
          await this.stopAll();
          entry.status = 'failed';
          this.#status = 'failed';
          this.notify('supervisor.failed', this.about(entry, reason));
          throw new HappenError('runtime', 'CHILD_START_FAILED', `Supervisor "${this.id}": child "${entry.child.id}" failed to start: ${reason.message}`, this.about(entry, reason), { cause: error });
        }
      }
      if (this.#status === 'starting') this.#status = 'running';
    });
  }

  stop(): Promise<void> {
    if (this.#status === 'idle' || this.#status === 'stopped' || this.#status === 'failed') return this.enqueue(async () => {});
    this.#status = 'stopping'; // at once, so crashes already queued are dropped
    return this.enqueue(async () => {
      await this.stopAll();
      this.#status = 'stopped';
      this.parent?.stopped();
    });
  }

  children(): ChildInfo[] {
    return this.#entries.map((e) => {
      const info: ChildInfo = { id: e.child.id, status: e.status, restarts: e.restarts };
      if (e.inc?.node) info.node = e.inc.node;
      if (e.inc?.supervisor) info.supervisor = e.inc.supervisor;
      return info;
    });
  }

  crash(childId: string, reason?: unknown): Promise<void> {
    return this.withChild(childId, async (entry) => {
      if (entry.status !== 'running') throw new HappenError('runtime', 'CHILD_NOT_RUNNING', `Supervisor "${this.id}": child "${childId}" is ${entry.status}`);
      const error = reason === undefined ? new HappenError('runtime', 'CHILD_CRASHED', `Child "${childId}" was crashed by supervisor.crash()`) : HappenError.from(reason);
      await this.exited(entry, entry.token, 'crash', error, undefined);
    });
  }

  stopChild(childId: string): Promise<void> {
    return this.withChild(childId, (entry) => this.retire(entry));
  }

  restartChild(childId: string): Promise<void> {
    return this.withChild(childId, async (entry) => {
      if (entry.status !== 'stopped') throw new HappenError('runtime', 'CHILD_RUNNING', `Supervisor "${this.id}": child "${childId}" is ${entry.status}`);
      try {
        await this.launch(entry);
      } catch (error) {
        const reason = HappenError.from(error);
        throw new HappenError('runtime', 'CHILD_START_FAILED', `Supervisor "${this.id}": child "${childId}" failed to start: ${reason.message}`, this.about(entry, reason), { cause: error });
      }
    });
  }

  async settled(): Promise<void> {
    for (;;) {
      const tail = this.#tail;
      await tail;
      await Promise.all(this.#entries.map((e) => e.inc?.supervisor?.settled()));
      if (tail === this.#tail) return;
    }
  }

  // Runs one task after every earlier one; the queue goes on whatever a task does.
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task);
    this.#tail = run.then(idle, idle);
    return run;
  }

  private withChild(childId: string, task: (entry: Entry) => Promise<void>): Promise<void> {
    const find = () => this.#entries.find((e) => e.child.id === childId);
    if (find() === undefined) return Promise.reject(new HappenError('validation', 'NO_SUCH_CHILD', `Supervisor "${this.id}" has no child "${childId}"`));
    return this.enqueue(async () => {
      if (this.#status !== 'running') throw new HappenError('runtime', 'SUPERVISOR_NOT_RUNNING', `Supervisor "${this.id}" is ${this.#status}`);
      const entry = find();
      if (entry === undefined) throw new HappenError('validation', 'NO_SUCH_CHILD', `Supervisor "${this.id}" has no child "${childId}" any more`);
      await task(entry);
    });
  }

  private report(entry: Entry) {
    return (inc: Incarnation, kind: 'crash' | 'normal', reason: HappenError, cause?: HappenEvent): void => {
      void this.enqueue(() => this.exited(entry, inc, kind, reason, cause));
    };
  }

  private async launch(entry: Entry): Promise<void> {
    const nest = (config: CheckedConfig, link: ParentLink) => new SupervisorImpl(config, this.happen, this.#now, link);
    const inc = await startChild(entry.child, this.happen, this.report(entry), nest);
    entry.inc = inc;
    entry.token = inc;
    entry.status = 'running';
  }

  // An exit as the queue gets to it: ignored if stale, else the child's restart type and the strategy decide.
  private async exited(entry: Entry, token: object, kind: 'crash' | 'normal', reason: HappenError, cause: HappenEvent | undefined): Promise<void> {
    if (this.#status !== 'running' || entry.token !== token || !this.#entries.includes(entry)) return;
    const type = kind === 'crash' ? 'supervisor.child.crashed' : 'supervisor.child.exited';
    const noted = this.notify(type, this.about(entry, reason), cause);
    const restart = entry.child.restart === 'permanent' || (entry.child.restart === 'transient' && kind === 'crash');
    if (!restart) return this.retire(entry);
    if (this.exceeded()) return this.giveUp(entry, reason, noted);
    return this.restart(entry, reason, noted);
  }

  private async restart(entry: Entry, reason: HappenError, cause: HappenEvent): Promise<void> {
    const group = this.group(entry);
    for (const e of [...group].reverse()) await this.halt(e, 'restarting');
    // As in OTP, a temporary sibling taken down by a restart is not brought back.
    this.#entries = this.#entries.filter((e) => e === entry || !group.includes(e) || e.child.restart !== 'temporary');
    for (const e of group) {
      if (!this.#entries.includes(e)) continue;
      try {
        await this.launch(e);
      } catch (error) {
        // The restart failed at this child: retried (and counted) as its crash, after what is already queued.
        const marker = {};
        e.token = marker;
        void this.enqueue(() => this.exited(e, marker, 'crash', HappenError.from(error), cause));
        return;
      }
      e.restarts++;
      this.notify('supervisor.child.restarted', { ...this.about(e, reason), trigger: entry.child.id, restarts: e.restarts }, cause);
    }
  }

  // The children a restart of `entry` takes down, in start order; stopped ones stay stopped.
  private group(entry: Entry): Entry[] {
    if (this.config.strategy === 'one-for-one') return [entry];
    const from = this.config.strategy === 'one-for-all' ? 0 : this.#entries.indexOf(entry);
    return this.#entries.slice(from).filter((e) => e === entry || e.status === 'running' || e.status === 'restarting');
  }

  // Counts a restart; true when it is one more than the intensity allows.
  private exceeded(): boolean {
    const now = this.#now();
    this.#restarts = this.#restarts.filter((t) => now - t < this.config.restartWindow);
    this.#restarts.push(now);
    return this.#restarts.length > this.config.maxRestarts;
  }

  private async giveUp(entry: Entry, reason: HappenError, cause: HappenEvent): Promise<void> {
    this.#status = 'stopping';
    await this.stopAll();
    entry.status = 'failed';
    this.#status = 'failed';
    const about = { ...this.about(entry, reason), maxRestarts: this.config.maxRestarts, restartWindow: this.config.restartWindow };
    const failed = this.notify('supervisor.failed', about, cause);
    if (this.parent === undefined) return;
    const escalated = this.notify('supervisor.escalated', about, failed);
    const message = `Supervisor "${this.id}" gave up: more than ${this.config.maxRestarts} restarts in ${this.config.restartWindow} ms (last: child "${entry.child.id}": ${reason.message})`;
    this.parent.escalate(new HappenError('runtime', 'SUPERVISOR_FAILED', message, about), escalated);
  }

  // A child that exits for good: stopped, and a temporary one forgotten.
  private async retire(entry: Entry): Promise<void> {
    await this.halt(entry, 'stopped');
    if (entry.child.restart === 'temporary') this.#entries = this.#entries.filter((e) => e !== entry);
  }

  private async stopAll(): Promise<void> {
    for (const e of [...this.#entries].reverse()) await this.halt(e, 'stopped');
  }

  private async halt(entry: Entry, status: ChildStatus): Promise<void> {
    const inc = entry.inc;
    entry.inc = undefined;
    entry.token = {};
    entry.status = status;
    if (inc === undefined) return;
    await stopChild(entry.child, inc, (error) => this.notify('supervisor.child.stop-failed', this.about(entry, error)));
  }

  private about(entry: Entry, reason: HappenError) {
    return { supervisor: this.id, child: entry.child.id, strategy: this.config.strategy, reason: reason.toJSON() };
  }

  private notify(type: string, payload: unknown, cause?: HappenEvent): HappenEvent {
    const causal = cause === undefined ? {} : { causationId: cause.id, correlationId: cause.context.causal.correlationId };
    return this.happen.notify({ type, payload, ...causal });
  }
}
