/**
 * The dedicated worker the todo page starts for the store. Every open todo tab starts one, but only
 * the holder of the Web Lock `happen-todo-store` runs the store: one system of record per browser,
 * taken over by the next tab's worker when its tab closes.
 */
import { startStore } from './store.ts';

void navigator.locks.request('happen-todo-store', async () => {
  try {
    await startStore();
    postMessage({ store: 'running' });
  } catch (error) {
    postMessage({ error: String((error as Error)?.stack ?? error) });
  }
  await new Promise(() => {}); // hold the lock for the worker's lifetime
});
