/**
 * The offline-first todo page. It starts the store in a dedicated worker (`store-worker.ts`), then
 * its own system (`todo-app.ts`). The "online" checkbox cuts this tab's link to the mesh: changes made
 * meanwhile queue in the outbox (the badge shows how many), survive a reload, and reach the store in
 * order once the box is ticked again. `window.todo` is the app, for the console.
 */
import { startTodoApp } from './todo-app.ts';

const $ = <T extends HTMLElement>(selector: string) => document.querySelector(selector) as T;
const list = $<HTMLUListElement>('#todos');
const storeList = $<HTMLUListElement>('#store');
const form = $<HTMLFormElement>('#add');
const input = $<HTMLInputElement>('#title');
const onlineBox = $<HTMLInputElement>('#online');
const queued = $<HTMLElement>('#queued');

// The tab's id and online switch live in sessionStorage: a reload is the same tab, a new tab is another.
const tab = sessionStorage.getItem('happen-todo-tab') ?? crypto.randomUUID().slice(0, 8);
sessionStorage.setItem('happen-todo-tab', tab);
const online = sessionStorage.getItem('happen-todo-online') !== 'false';

const worker = new Worker(new URL('./store-worker.js', location.href));
worker.onmessage = (e: MessageEvent<{ store?: string; error?: string }>) => {
  if (e.data.error) console.error(`store worker: ${e.data.error}`);
};

const app = await startTodoApp({ tab, online });
onlineBox.checked = online;

function render(): void {
  const view = app.view();
  queued.textContent = String(view.queued);
  queued.dataset.depth = String(view.queued);
  list.replaceChildren(
    ...view.todos.map((todo) => {
      const li = document.createElement('li');
      li.dataset.id = todo.id;
      li.className = `${todo.done ? 'done' : ''} ${todo.pending ? 'pending' : ''}`.trim();
      const box = Object.assign(document.createElement('input'), { type: 'checkbox', checked: todo.done, className: 'toggle' });
      box.addEventListener('change', () => void app.toggle(todo.id));
      const remove = Object.assign(document.createElement('button'), { textContent: '×', className: 'remove', title: 'remove' });
      remove.addEventListener('click', () => void app.remove(todo.id));
      li.append(box, ' ', Object.assign(document.createElement('span'), { className: 'title', textContent: todo.title }), ' ', remove);
      return li;
    }),
  );
  storeList.replaceChildren(
    ...(view.store?.todos ?? []).map((todo) => {
      const li = Object.assign(document.createElement('li'), { textContent: `${todo.done ? '☑' : '☐'} ${todo.title}` });
      li.dataset.id = todo.id;
      return li;
    }),
  );
  $('#store-status').textContent = view.store ? `${view.store.todos.length} items, ${view.store.applied.length} changes applied` : 'not heard from yet';
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  if (!input.value.trim()) return;
  void app.add(input.value).then(() => void (input.value = ''));
});
onlineBox.addEventListener('change', () => {
  sessionStorage.setItem('happen-todo-online', String(onlineBox.checked));
  app.setOnline(onlineBox.checked);
});
app.subscribe(render);
// The outbox drains on its own; poll its depth, and ask the store for its list once nothing waits.
let lastAsked = 0;
setInterval(() => {
  render();
  const { online, queued } = app.view();
  if (online && queued === 0 && Date.now() - lastAsked > 1_000) {
    lastAsked = Date.now();
    void app.refresh();
  }
}, 250);
render();
document.body.dataset.ready = 'true';
(globalThis as Record<string, unknown>).todo = app;
