/**
 * The browser examples run as they ship (examples/chat, examples/todo), in Chromium: the test server
 * mounts each example's files under `/examples/<name>/` ({@link exampleRoutes}), and each test drives
 * the real page through its DOM, with several tabs of one browser context. A test throws to fail and
 * returns a note (timings) that the runner prints.
 */
import { BROWSER_EXAMPLES, exampleFiles } from '../../examples/serve.mjs';

/**
 * The examples' files for serve.mjs, as `{ '/examples/<name>/<file>': [type, body] }`. An example that
 * does not bundle is served as a page that says why, so only its test fails.
 */
export async function exampleRoutes() {
  const routes = await Promise.all(
    Object.keys(BROWSER_EXAMPLES).map(async (name) => {
      const files = await exampleFiles(name).catch((error) => {
        const page = `<!doctype html><title>broken</title><body data-load-error="${String(error.message).replaceAll('"', '&quot;').replaceAll('<', '&lt;')}">`;
        return { '/': ['text/html', page], '/index.html': ['text/html', page] };
      });
      return Object.entries(files).map(([path, file]) => [`/examples/${name}${path}`, file]);
    }),
  );
  return Object.fromEntries(routes.flat());
}

const same = (actual, expected, what) => {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check, what, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Opens (or, given a page, navigates) an example page and waits until its script has started. */
async function open(pageOrContext, url) {
  const page = typeof pageOrContext.newPage === 'function' ? await pageOrContext.newPage() : pageOrContext;
  page.on('pageerror', (error) => console.log(`[chromium:examples] pageerror: ${error.message}`));
  await page.goto(url);
  await ready(page);
  return page;
}

async function ready(page) {
  await page.waitForFunction(() => document.body?.dataset.ready === 'true' || document.body?.dataset.loadError, null, { timeout: 30_000 });
  const error = await page.evaluate(() => document.body.dataset.loadError);
  if (error) throw new Error(`the example did not bundle: ${error}`);
}

const texts = (page, selector) => page.$$eval(selector, (els) => els.map((el) => el.textContent));

// ---- chat ----

const chatLines = (page) => page.$$eval('#messages .message', (els) => els.map((el) => `${el.querySelector('.from').textContent}: ${el.querySelector('.text').textContent}`));
const roster = (page) => page.$$eval('#roster li', (els) => els.map((el) => el.dataset.name));

async function say(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

const chatTest = {
  name: 'examples › chat: two tabs over BroadcastChannel — a message typed in one appears in the other, a reload keeps the history, a closed tab shows as left',
  timeoutMs: 90_000, // 3-7 s alone, 25-30 s beside the whole browser suite on 2 cores
  async run(page, origin) {
    const started = Date.now();
    const url = (name) => `${origin}/examples/chat/?name=${name}`;
    const alice = await open(page, url('alice'));
    const bob = await open(page.context(), url('bob'));
    await waitFor(async () => (await roster(alice)).includes('bob') && (await roster(bob)).includes('alice'), 'each tab to list the other as here');
    same(await roster(alice), ['alice', 'bob'], "alice's roster");

    const t0 = Date.now();
    await say(alice, 'hello from alice');
    await waitFor(async () => (await chatLines(bob)).includes('alice: hello from alice'), "alice's message in bob's tab");
    const crossMs = Date.now() - t0;
    await say(bob, 'hi alice');
    await waitFor(async () => (await chatLines(alice)).includes('bob: hi alice'), "bob's answer in alice's tab");
    same(await chatLines(alice), ['alice: hello from alice', 'bob: hi alice'], "alice's messages");
    same(await chatLines(bob), ['alice: hello from alice', 'bob: hi alice'], "bob's messages");

    // A line the schema refuses is reported in the sender's tab and reaches nobody.
    await say(alice, '   ');
    await waitFor(async () => (await alice.textContent('#status')).includes('needs some text'), 'the validation message for an empty line');

    await alice.reload();
    await ready(alice);
    await waitFor(async () => (await chatLines(alice)).length === 2, 'the history after the reload');
    same(await chatLines(alice), ['alice: hello from alice', 'bob: hi alice'], "alice's messages after her reload (from IndexedDB)");
    await waitFor(async () => (await roster(alice)).includes('bob'), 'bob listed again after the reload');
    await say(bob, 'welcome back');
    await waitFor(async () => (await chatLines(alice)).includes('bob: welcome back'), 'a live message after the reload');

    const closedAt = Date.now();
    await bob.close({ runBeforeUnload: true });
    await waitFor(async () => !(await roster(alice)).includes('bob'), 'bob gone from the roster');
    const leftMs = Date.now() - closedAt;
    const notices = await texts(alice, '#messages .notice');
    if (!notices.some((n) => n.startsWith('bob left'))) throw new Error(`no "bob left" notice in ${JSON.stringify(notices)}`);
    same(await roster(alice), ['alice'], "alice's roster once bob's tab closed");
    return `message across tabs in ${crossMs} ms, closed tab shown as left in ${leftMs} ms; ${((Date.now() - started) / 1000).toFixed(1)} s in all`;
  },
};

// ---- todo ----

const todoTitles = (page) => page.$$eval('#todos li', (els) => els.map((el) => `${el.classList.contains('done') ? '[x]' : '[ ]'} ${el.querySelector('.title').textContent}${el.classList.contains('pending') ? ' (pending)' : ''}`));
const storeTitles = (page) => page.$$eval('#store li', (els) => els.map((el) => el.textContent));
const queued = async (page) => Number(await page.textContent('#queued'));
/** What the store has saved, read straight from its IndexedDB database (not through the mesh). */
const storeSaved = (page) =>
  page.evaluate(() => new Promise((resolve, reject) => {
    const opening = indexedDB.open('happen-todo-store', 1);
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
      const db = opening.result;
      const get = db.transaction('entries').objectStore('entries').get('todo/store');
      get.onsuccess = () => {
        db.close();
        resolve(get.result ?? null);
      };
      get.onerror = () => reject(get.error);
    };
  }));

async function addTodo(page, title) {
  const before = (await todoTitles(page)).length;
  await page.fill('#title', title);
  await page.press('#title', 'Enter');
  await waitFor(async () => (await todoTitles(page)).length === before + 1, `"${title}" in the list`);
}

async function onItem(page, title, selector) {
  const item = page.locator('#todos li', { hasText: title });
  await item.locator(selector).click();
}

const todoTest = {
  name: 'examples › todo: changes made offline queue in the IndexedDB outbox (depth shown), survive a reload, and reach the store in a worker in order, once, when back online',
  timeoutMs: 90_000, // 3-7 s alone, 25-30 s beside the whole browser suite on 2 cores
  async run(page, origin) {
    const started = Date.now();
    const todo = await open(page, `${origin}/examples/todo/`);
    await waitFor(async () => (await todo.textContent('#store-status')).startsWith('0 items'), 'the store to answer');

    await todo.click('#online'); // offline
    for (const title of ['milk', 'eggs', 'bread']) await addTodo(todo, title);
    await onItem(todo, 'eggs', '.toggle');
    await waitFor(async () => (await queued(todo)) === 4, 'a queue depth of 4');
    same(await todoTitles(todo), ['[ ] milk (pending)', '[x] eggs (pending)', '[ ] bread (pending)'], 'the list while offline');

    await todo.reload();
    await ready(todo);
    if (await todo.isChecked('#online')) throw new Error('the tab came back online after the reload');
    same(await queued(todo), 4, 'the queue depth after the reload');
    same(await todoTitles(todo), ['[ ] milk (pending)', '[x] eggs (pending)', '[ ] bread (pending)'], 'the list after the reload (from the node log)');
    await addTodo(todo, 'jam');
    await onItem(todo, 'milk', '.remove');
    await waitFor(async () => (await queued(todo)) === 6, 'a queue depth of 6');
    await sleep(300); // more than the store's answer would take: nothing may leak through while offline
    same((await storeSaved(todo))?.applied ?? [], [], 'changes the store saved while the tab was offline');

    const onlineAt = Date.now();
    await todo.click('#online');
    await waitFor(async () => (await queued(todo)) === 0, 'the outbox to drain');
    const flushMs = Date.now() - onlineAt;
    await waitFor(async () => (await storeTitles(todo)).length === 3, "the store's answer in the page");
    same(await storeTitles(todo), ['☑ eggs', '☐ bread', '☐ jam'], "the store's list");
    same(await todoTitles(todo), ['[x] eggs', '[ ] bread', '[ ] jam'], 'the list once synced (nothing pending)');

    await sleep(2_500); // past the ack timeout: a redelivery would have reached the store by now
    const { emitted, store } = await todo.evaluate(async () => ({ emitted: window.todo.emitted(), store: await window.todo.refresh() }));
    same(emitted.length, 6, 'change events emitted by the tab');
    same(store.applied, emitted, 'the events the store applied, in order (the ids the tab emitted)');
    same(store.duplicates, 0, 'events handed to the store twice');
    same((await storeSaved(todo)).applied, emitted, "the applied events in the store's IndexedDB");
    return `6 offline changes flushed ${flushMs} ms after going online; ${((Date.now() - started) / 1000).toFixed(1)} s in all`;
  },
};

export const examplesTests = [chatTest, todoTest];
