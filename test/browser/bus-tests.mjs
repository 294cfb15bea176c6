/**
 * Multi-page tests of the BroadcastChannel transport: several tabs (pages of one browser context) and a
 * dedicated worker on one bus, and the leader election with Web Locks and without them. Each test
 * gets a fresh browser context from the runner; a test throws to fail and may return a note (a
 * measured takeover time) that the runner prints and records.
 */
const equal = (actual, expected, what) => {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
};
const same = (actual, expected, what) => equal(JSON.stringify(actual), JSON.stringify(expected), what);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check, what, timeout = 5_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** A new tab with the bus probe loaded; `hideLocks` removes navigator.locks before any script runs. */
async function openTab(context, origin, { hideLocks = false } = {}) {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.log(`[chromium:bus] pageerror: ${error.message}`));
  if (hideLocks) await page.addInitScript(() => Object.defineProperty(navigator, 'locks', { value: undefined, configurable: true }));
  await page.goto(`${origin}/bus.html`);
  await page.waitForFunction(() => window.bus || window.busLoadError, null, { timeout: 30_000 });
  const error = await page.evaluate(() => window.busLoadError);
  if (error) throw new Error(`bus.js failed to load: ${error}`);
  return page;
}

/** A new tab running one Happen system meshed over broadcastChannel() (`/mesh.html`). */
async function openMeshTab(context, origin, system, node) {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.log(`[chromium:mesh] pageerror: ${error.message}`));
  await page.goto(`${origin}/mesh.html`);
  await page.waitForFunction(() => window.meshTab || window.meshLoadError, null, { timeout: 30_000 });
  const error = await page.evaluate(() => window.meshLoadError);
  if (error) throw new Error(`mesh.js failed to load: ${error}`);
  await page.evaluate(([s, n]) => window.meshTab.start(s, n), [system, node]);
  return page;
}

async function openTabs(context, origin, count, options, hideLocks = false) {
  const tabs = [];
  for (let i = 0; i < count; i++) tabs.push(await openTab(context, origin, { hideLocks }));
  await Promise.all(tabs.map((tab) => tab.evaluate((o) => window.bus.start(o), options)));
  return tabs;
}

const state = (tab) => tab.evaluate(() => window.bus.state());

async function leaders(tabs) {
  const states = await Promise.all(tabs.map(state));
  return tabs.filter((_, i) => states[i].leader);
}

/** Exactly one of `tabs` leads (and still does a little later); returns it. */
async function theOneLeader(tabs, what, timeout) {
  await waitFor(async () => (await leaders(tabs)).length === 1, `exactly one leader ${what}`, timeout);
  await sleep(300); // a second leader would show up within a few heartbeats of the fallback
  const now = await leaders(tabs);
  equal(now.length, 1, `leaders ${what}, 300 ms later`);
  return now[0];
}

/**
 * Three tabs; one leads. The leader tab is closed, one of the other two takes over within `bound`
 * ms, then that one is closed and the last takes over. Returns the measured takeover times.
 */
async function electionRounds(context, origin, options, { hideLocks = false, bound }) {
  const tabs = await openTabs(context, origin, 3, options, hideLocks);
  for (const tab of tabs) equal((await state(tab)).webLocks, !hideLocks, 'Web Locks available in the tab');
  let leader = await theOneLeader(tabs, 'among three tabs', 5_000);
  const takeovers = [];
  while (tabs.length > 1) {
    tabs.splice(tabs.indexOf(leader), 1);
    const closedAt = Date.now();
    await leader.close();
    leader = await theOneLeader(tabs, `after the leader tab closed (${tabs.length} left)`, bound);
    const s = await state(leader);
    const became = s.leadership.findLast((change) => change.leader);
    takeovers.push(became.at - closedAt);
    if (!(takeovers.at(-1) <= bound)) throw new Error(`takeover took ${takeovers.at(-1)} ms, over the ${bound} ms bound`);
    if (s.leaderPromiseAt === undefined) throw new Error('transport.leader did not resolve in the new leader');
  }
  return takeovers;
}

export const busTests = [
  {
    name: 'transports › broadcast-channel › two tabs exchange event frames (msgpack, JSON and values) that decode equal; never echoed to the sender',
    async run(page, origin) {
      const [a, b] = await openTabs(page.context(), origin, 2, { mesh: 'tabs' });
      const sent = [
        await a.evaluate(() => window.bus.sendEvent('tab-a', 'msgpack')),
        await a.evaluate(() => window.bus.sendEvent('tab-a', 'json')),
        await a.evaluate(() => window.bus.sendEvent('tab-a', 'clone')),
        await b.evaluate(() => window.bus.sendEvent('tab-b', 'msgpack')),
      ];
      await waitFor(async () => (await state(b)).frames.length === 3 && (await state(a)).frames.length === 1, 'the frames to arrive');
      same((await state(b)).frames, sent.slice(0, 3), 'frames in tab B');
      same((await state(a)).frames, sent.slice(3), 'frames in tab A (its own not echoed)');
      same((await state(a)).statuses, ['open'], 'status in tab A');
      same((await state(a)).errors, [], 'errors in tab A');
    },
  },
  {
    name: 'transports › broadcast-channel › a dedicated worker sends a frame (as a value) that arrives in two pages and decodes equal',
    async run(page, origin) {
      const [a, b] = await openTabs(page.context(), origin, 2, { mesh: 'workers' });
      const sent = await b.evaluate(() => window.bus.fromWorker('workers', 'clone'));
      for (const [tab, which] of [[a, 'A'], [b, 'B']]) {
        await waitFor(async () => (await state(tab)).frames.length === 1, `the worker's frame in tab ${which}`);
        same((await state(tab)).frames, [sent], `frame in tab ${which}`);
      }
    },
  },
  {
    name: 'transports › broadcast-channel › Web Locks election: one leader among three tabs; closing the leader hands over, twice',
    async run(page, origin) {
      const takeovers = await electionRounds(page.context(), origin, { mesh: 'election-locks' }, { bound: 2_000 });
      return `takeover after the leader tab closed: ${takeovers.join(' ms, ')} ms`;
    },
  },
  {
    name: 'transports › broadcast-channel › fallback election (navigator.locks removed): one leader among three tabs; closing the leader hands over, twice',
    async run(page, origin) {
      const takeovers = await electionRounds(page.context(), origin, { mesh: 'election-fallback', heartbeatMs: 200 }, { hideLocks: true, bound: 2_000 });
      return `takeover after the leader tab closed (heartbeat 200 ms): ${takeovers.join(' ms, ')} ms`;
    },
  },
  {
    name: 'transports › broadcast-channel › fallback election: a leader gone silent is replaced after missed heartbeats, and steps down on hearing the new one',
    async run(page, origin) {
      const tabs = await openTabs(page.context(), origin, 2, { mesh: 'election-silent', useWebLocks: false, heartbeatMs: 200 });
      const old = await theOneLeader(tabs, 'among two tabs', 5_000);
      const other = tabs.find((tab) => tab !== old);
      const silencedAt = Date.now();
      await old.evaluate(() => window.bus.silence());
      await waitFor(async () => (await state(other)).leader, 'the other tab to take over', 3_000);
      const took = (await state(other)).leadership.findLast((c) => c.leader).at - silencedAt;
      await waitFor(async () => !(await state(old)).leader, 'the silent leader to step down', 2_000);
      equal((await leaders(tabs)).length, 1, 'leaders once the old one stepped down');
      // The followers' window runs from the last beat they heard, up to one interval before the silence.
      if (took < 3 * 200 - 200) throw new Error(`took over after ${took} ms, before 3 heartbeats were missed`);
      return `takeover after the leader went silent (heartbeat 200 ms): ${took} ms`;
    },
  },
  {
    name: 'transports › broadcast-channel › a foreign message on the channel is a validation/MALFORMED_FRAME error; later frames still arrive; bad sends report, never throw',
    async run(page, origin) {
      const [a, b] = await openTabs(page.context(), origin, 2, { mesh: 'foreign' });
      await a.evaluate(() => window.bus.postForeign('foreign', { hello: 'not a frame' }));
      const sent = await a.evaluate(() => window.bus.sendEvent('tab-a'));
      await waitFor(async () => (await state(b)).frames.length === 1, 'the frame after the foreign message');
      const inB = await state(b);
      same(inB.frames, [sent], 'frames in tab B');
      same(inB.errors.map((e) => `${e.name} ${e.category}/${e.code}`), ['HappenError validation/MALFORMED_FRAME'], 'errors in tab B');
      same(inB.statuses, ['open'], 'tab B still open');

      // Tab A's own transport heard the foreign poster too (another channel object in the same tab).
      await a.evaluate(() => window.bus.sendBad());
      same((await state(a)).errors.map((e) => `${e.category}/${e.code}`), ['validation/MALFORMED_FRAME', 'validation/MALFORMED_FRAME', 'validation/UNCLONEABLE_FRAME'], 'errors in tab A: the foreign message, then the two bad sends');
      await a.evaluate(() => window.bus.close());
      await a.evaluate(() => window.bus.sendEvent('tab-a')); // after close: a no-op, no throw
      await sleep(100);
      same((await state(a)).statuses, ['open', 'closed'], 'statuses in tab A');
      equal((await state(a)).errors.length, 3, 'no error for a send after close');
      equal((await state(b)).frames.length, 1, 'frames in tab B (nothing after the bad sends or the close)');
      equal((await state(b)).errors.length, 1, 'errors in tab B');
    },
  },
  {
    name: 'transports › broadcast-channel › mesh: two tabs, one Happen system each, send/return and a broadcast; tab A traces the events tab B handled',
    async run(page, origin) {
      const a = await openMeshTab(page.context(), origin, 'tab-a', 'a-node');
      const b = await openMeshTab(page.context(), origin, 'tab-b', 'b-node');
      // B hears of a-node only at A's next heartbeat, and a reply to a node B has not heard of is dropped.
      await b.evaluate(() => window.meshTab.waitForNode('a-node'));
      const { result, requestId, trace } = await a.evaluate(() => window.meshTab.greet('b-node', 'sarah'));
      same(result, { hello: 'sarah', from: 'b-node' }, 'the answer from tab B');
      const inTrace = trace.map((e) => `${e.type}@${e.sender}`).sort();
      same(inTrace, ['greet@a-node', 'greeted@b-node', 'happen.reply@b-node'], "tab A's trace of the request");
      for (const e of trace.filter((e) => e.sender === 'b-node')) equal(e.causationId, requestId, `causationId of ${e.type} (made in tab B)`);
      await a.evaluate(() => window.meshTab.news('from A'));
      await waitFor(async () => (await b.evaluate(() => window.meshTab.heard())).some((h) => h.startsWith('news:')), 'the broadcast in tab B');
      // Each broadcast reaches both nodes exactly once: its own tab's locally, the other's over the channel.
      const both = ['greeted:{"name":"sarah"}@b-node', 'news:{"text":"from A"}@a-node'];
      same(await b.evaluate(() => window.meshTab.heard()), both, 'what tab B heard');
      same(await a.evaluate(() => window.meshTab.heard()), both, 'what tab A heard');
    },
  },
  {
    name: 'transports › broadcast-channel › mesh: a tab that closes says goodbye on pagehide: the other tab sees its node leave at once (reason bye), not after missed heartbeats',
    async run(page, origin) {
      const a = await openMeshTab(page.context(), origin, 'tab-a', 'a-node');
      const b = await openMeshTab(page.context(), origin, 'tab-b', 'b-node');
      await a.evaluate(() => window.meshTab.waitForNode('b-node'));
      const closedAt = Date.now();
      await b.close({ runBeforeUnload: true });
      const gone = await waitFor(async () => (await a.evaluate(() => window.meshTab.left())).find((l) => l.node === 'b-node'), 'b-node to leave tab A');
      equal(gone.reason, 'bye', 'why b-node left');
      // Heartbeats are 200 ms apart and a peer is dropped after three missed: a goodbye is well inside that.
      if (gone.at - closedAt > 500) throw new Error(`b-node left ${gone.at - closedAt} ms after its tab closed`);
      return `left ${gone.at - closedAt} ms after the tab closed`;
    },
  },
];
