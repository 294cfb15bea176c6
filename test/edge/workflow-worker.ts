/**
 * The workerd entry of the workflow restart test (workflow.mjs): one Durable Object hosting a
 * workflow durable on its storage and woken by its alarm, as `happen/workflow/durable-object`
 * documents. `/start?id=&ms=` starts an instance that sleeps `ms` between two steps and answers once
 * it sleeps; `/status?id=` answers the instance, how often each step ran, and the alarm.
 */
import { createHappen } from '../../src/index.ts';
import { durableObjectStorage, type DurableObjectStorageLike } from '../../src/storage/durable-object.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { durableObjectScheduler, type DurableObjectAlarmsLike } from '../../src/workflow/durable-object-scheduler.ts';
import { createWorkflow, type Workflow } from '../../src/workflow/index.ts';

interface StateLike {
  storage: DurableObjectStorageLike & DurableObjectAlarmsLike;
}

interface Env {
  WF: { idFromName(name: string): unknown; get(id: unknown): { fetch(request: Request): Promise<Response> } };
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    return env.WF.get(env.WF.idFromName('napper')).fetch(request);
  },
};

/** The object: the workflow is created in the constructor, so an alarm alone brings it back. */
export class WorkflowObject {
  readonly #state: StateLike;
  readonly #storage: Storage;
  readonly #workflow: Workflow;

  constructor(state: StateLike) {
    this.#state = state;
    this.#storage = durableObjectStorage(state.storage, { prefix: 'wf/' });
    void this.#bump('constructed');
    this.#workflow = createWorkflow('napper', {
      happen: createHappen(),
      storage: this.#storage,
      scheduler: durableObjectScheduler(state),
      steps: [
        { id: 'before', run: () => this.#bump('before') },
        { id: 'nap', sleep: (_data, input: { ms: number }) => input.ms },
        { id: 'after', run: () => this.#bump('after') },
      ],
    });
  }

  /** Counts a run in storage; resolves to when it ran. */
  async #bump(name: string): Promise<number> {
    const key = `count/${name}`;
    await this.#storage.put(key, ((await this.#storage.get<number>(key)) ?? 0) + 1);
    const at = Date.now();
    await this.#storage.put(`at/${name}`, at);
    return at;
  }

  async alarm(): Promise<void> {
    await this.#bump('alarm');
    await this.#workflow.wake();
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const id = url.searchParams.get('id') ?? '';
    if (url.pathname === '/start') {
      await this.#workflow.start({ ms: Number(url.searchParams.get('ms')) }, { instanceId: id });
      for (let i = 0; i < 400; i++) {
        const instance = await this.#workflow.instance(id);
        if (instance?.status !== 'running') return Response.json({ instance, alarm: await this.#state.storage.getAlarm() });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return new Response('the instance never left running', { status: 500 });
    }
    if (url.pathname === '/status') {
      const counts: Record<string, number | undefined> = {};
      const times: Record<string, number | undefined> = {};
      for (const name of ['constructed', 'before', 'after', 'alarm']) {
        counts[name] = await this.#storage.get<number>(`count/${name}`);
        times[name] = await this.#storage.get<number>(`at/${name}`);
      }
      return Response.json({ instance: await this.#workflow.instance(id), counts, times, alarm: await this.#state.storage.getAlarm() });
    }
    return new Response('not found', { status: 404 });
  }
}
