/**
 * Durable delivery's chaos tests in Chromium (issue 7): tabs of one browser context, each its own
 * Happen system durable on IndexedDB, meshed over BroadcastChannel. Each test gets a fresh browser
 * context from the runner, throws to fail, and returns a note (its measurements) that the runner
 * prints on the PASS line. `timeoutMs` raises the runner's per-test limit.
 */
const equal = (actual, expected, what) => {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check, what, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Loads `/durable.html` into `page` (a new tab when `page` is a browser context). */
async function load(pageOrContext, origin) {
  const page = typeof pageOrContext.newPage === 'function' ? await pageOrContext.newPage() : pageOrContext;
  page.on('pageerror', (error) => console.log(`[chromium:durable] pageerror: ${error.message}`));
  await page.goto(`${origin}/durable.html`);
  await page.waitForFunction(() => window.durableTab || window.durableLoadError, null, { timeout: 30_000 });
  const error = await page.evaluate(() => window.durableLoadError);
  if (error) throw new Error(`durable.js failed to load: ${error}`);
  return page;
}

const tab = (page) => ({
  call: (name, ...args) => page.evaluate(([n, a]) => window.durableTab[n](...a), [name, args]),
});

export const durableTests = [
  {
    name: 'mesh › durable › 1,000 events emitted while offline, the sender tab reloaded midway, reconnected: all arrive, in order, once',
    timeoutMs: 60_000,
    async run(page, origin) {
      const started = Date.now();
      const mesh = 'offline-reload';
      const receiver = tab(await load(page.context(), origin));
      await receiver.call('startReceiver', { system: 'receiver', db: 'receiver-mesh', mesh });
      const senderPage = await load(page, origin);
      let sender = tab(senderPage);
      const options = { system: 'sender', db: 'sender-mesh', mesh };
      await sender.call('startSender', { ...options, online: true });
      await sender.call('waitForNode', 'sink'); // the receiver is known: the first events are numbered for it at once
      await sender.call('cut');
      const t0 = Date.now();
      const first = await sender.call('emitEach', 0, 500);
      const firstMs = Date.now() - t0;
      equal((await sender.call('queue')).depth, 500, 'outbox depth after 500 offline emits');

      await senderPage.reload();
      await load(senderPage, origin);
      sender = tab(senderPage);
      await sender.call('startSender', { ...options, online: false });
      equal((await sender.call('queue')).depth, 500, 'outbox depth after the reload (before any new emit)');
      const t1 = Date.now();
      const second = await sender.call('emitEach', 500, 500);
      const secondMs = Date.now() - t1;
      equal((await sender.call('queue')).depth, 1_000, 'outbox depth after 1,000 offline emits');
      await sleep(300); // more than a heartbeat: anything leaking through the cut link would show now
      equal(await receiver.call('count'), 0, 'events that reached the receiver while the sender was offline');

      const mendedAt = Date.now();
      await sender.call('mend');
      await waitFor(async () => (await receiver.call('count')) >= 1_000, 'all 1,000 at the receiver', 30_000);
      const flushMs = Date.now() - mendedAt;
      await waitFor(async () => (await sender.call('queue')).depth === 0, "the sender's outbox to drain", 10_000);
      await sleep(500); // a duplicate would arrive within the ack timeout and a retry
      const got = await receiver.call('got');
      equal(got.length, 1_000, 'events handled by the receiver');
      const ids = [...first, ...second];
      for (let i = 0; i < 1_000; i++) {
        equal(got[i][0], i, `payload of the event handled ${i}th`);
        equal(got[i][1], ids[i], `id of the event handled ${i}th`);
      }
      equal(new Set(got.map((g) => g[1])).size, 1_000, 'distinct ids handled');
      equal(await sender.call('deadLetters'), 0, 'dead letters');
      return `offline emits: 500 in ${firstMs} ms, 500 after the reload in ${secondMs} ms; flushed 1,000 in ${flushMs} ms after reconnecting; ${((Date.now() - started) / 1000).toFixed(1)} s in all`;
    },
  },
  {
    name: 'mesh › durable › a consumer worker killed mid-handler ≥ 100 times over 10,000 events: 0 lost, 0 duplicate side effects on an idempotent ledger',
    timeoutMs: 240_000, // 105–120 s alone on the 2-core VM and more beside the rest of the suite (the sender, not the kills, is the slow part)
    async run(page, origin) {
      const started = Date.now();
      const EVENTS = Number(process.env.EVENTS ?? 10_000);
      const KILLS = Number(process.env.KILLS ?? 100); // env overrides are for local exploration only
      const mesh = 'kills';
      const host = tab(await load(page.context(), origin));
      const sender = tab(await load(page, origin));
      await sender.call('startSender', { system: 'producer', db: 'producer-mesh', mesh, online: true });
      // Each kill comes after a random 10–160 handler starts (mean 85): the 100 kills spread over most of the run.
      await host.call('runChaos', { system: 'consumer', db: 'consumer-mesh', ledger: 'consumer-ledger', mesh, kills: KILLS, minStarts: 10, maxStarts: 160 });
      await sender.call('waitForNode', 'ledger');
      const NODES = 20; // one node's durable emits are one outbox write each (core chains a node's outgoing steps)
      const { ids, ms: emitMs } = await sender.call('emitBatches', 'tick', EVENTS, 100, NODES);
      equal(ids.length, EVENTS, 'events emitted');
      await waitFor(async () => {
        const c = await host.call('chaos');
        if (c.error) throw new Error(c.error);
        return (await host.call('ledgerSize', 'consumer-ledger')) === EVENTS && (await sender.call('queue')).depth === 0;
      }, 'every event in the ledger and the outbox drained', 140_000).catch(async (error) => {
        const c = await host.call('chaos');
        const state = { ledger: await host.call('ledgerSize', 'consumer-ledger'), outbox: await sender.call('queue'), kills: c.kills, starts: c.starts, emitMs: Math.round(emitMs) };
        throw new Error(`${error.message}: ${JSON.stringify(state)}`);
      });
      const handledMs = Date.now() - started;
      const chaos = await host.call('chaos');
      if (chaos.kills < KILLS) throw new Error(`only ${chaos.kills} kills before the run ended (wanted ≥ ${KILLS})`);
      await sleep(500); // a late redelivery would show in the runs now
      const { entries, runs } = await host.call('readLedger', 'consumer-ledger');
      equal(entries.length, EVENTS, 'ledger entries (0 duplicate side effects)');
      const byId = new Map(entries);
      const lost = ids.filter((id) => !byId.has(id));
      equal(lost.length, 0, 'events lost');
      const lastOrder = new Array(NODES).fill(-1);
      ids.forEach((id, i) => {
        equal(byId.get(id).seq, i, `payload of ${id}`);
        // Per-sender order held through the kills: each node's events were first applied in its emit order.
        const { order } = byId.get(id);
        if (!(order > lastOrder[i % NODES])) throw new Error(`event ${i} of node src-${i % NODES} applied at ${order}, before an earlier one (${lastOrder[i % NODES]})`);
        lastOrder[i % NODES] = order;
      });
      equal(new Set(entries.map(([, e]) => e.order)).size, EVENTS, 'distinct application orders');
      const totalRuns = Object.values(runs).reduce((a, b) => a + b, 0);
      const duplicates = totalRuns - EVENTS;
      const maxRuns = Math.max(...Object.values(runs));
      equal(await sender.call('deadLetters'), 0, 'dead letters');
      return `${chaos.kills} kills (${chaos.workers} workers), ${EVENTS.toLocaleString('en-US')} events: 0 lost, 0 duplicate side effects; ` +
        `duplicate deliveries: ${duplicates} (handler runs that committed for an id already in the ledger; at most ${maxRuns} runs of one id); ` +
        `emitted in ${emitMs.toFixed(0)} ms, all handled in ${(handledMs / 1000).toFixed(1)} s, ${((Date.now() - started) / 1000).toFixed(1)} s in all`;
    },
  },
];
