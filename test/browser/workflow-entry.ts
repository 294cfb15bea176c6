/**
 * A workflow durable on IndexedDB in a real tab (`/workflow.html`), driven through `window.workflowTab`
 * by `workflow-tests.mjs`. It is created as the page loads, as an app would create it, so a reloaded
 * page resumes what the previous one left unfinished. Its steps count their runs in the same database.
 */
import { createHappen } from '../../src/index.ts';
import { indexedDbStorage } from '../../src/storage/indexeddb.ts';
import { createWorkflow } from '../../src/workflow/index.ts';

const storage = indexedDbStorage('workflow-reload');

/** Counts a run of `step` and when it happened; resolves to that time. */
async function bump(step: string): Promise<number> {
  const at = Date.now();
  const count = (await storage.get<number>(`count/${step}`)) ?? 0;
  await storage.batch([
    { type: 'put', key: `count/${step}`, value: count + 1 },
    { type: 'put', key: `at/${step}`, value: at },
  ]);
  return at;
}

const workflow = createWorkflow('napper', {
  happen: createHappen(),
  storage,
  steps: [
    { id: 'before', run: () => bump('before') },
    { id: 'nap', sleep: (_data, input: { ms: number }) => input.ms },
    { id: 'after', run: () => bump('after') },
  ],
});

(globalThis as Record<string, unknown>).workflowTab = {
  ready: () => workflow.ready,
  start: (id: string, ms: number) => workflow.start({ ms }, { instanceId: id }),
  instance: (id: string) => workflow.instance(id),
  result: (id: string) => workflow.result(id),
  counts: async () => ({
    before: await storage.get<number>('count/before'),
    after: await storage.get<number>('count/after'),
    afterAt: await storage.get<number>('at/after'),
  }),
};
