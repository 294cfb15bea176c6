/**
 * The live dashboard in Chromium (issue 10): a Node hub and three systems (dashboard-scenario.ts, run
 * with tsx) and the page the hub serves at /dashboard/mesh/<mesh>. The page must show the live nodes,
 * draw the flow map of the three-node scenario's correlation id, and list the dead letter, whose
 * redrive button delivers it. Screenshots go to .test-results/screenshots/.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const shots = `${root}.test-results/screenshots`;

const equal = (actual, expected, what) => {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
};

/** The scenario process, spoken to in JSON lines. */
function startScenario() {
  const child = spawn(`${root}node_modules/.bin/tsx`, [`${root}test/browser/dashboard-scenario.ts`], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = [];
  const waiting = [];
  let stderr = '';
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop();
    for (const part of parts.filter(Boolean)) {
      const message = JSON.parse(part);
      const waiter = waiting.shift();
      if (waiter) waiter.resolve(message);
      else lines.push(message);
    }
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.on('exit', (code) => {
    for (const waiter of waiting.splice(0)) waiter.reject(new Error(`the scenario exited (${code}): ${stderr.slice(-1500)}`));
  });
  const next = (timeout = 20_000) =>
    lines.length > 0
      ? Promise.resolve(lines.shift())
      : new Promise((resolve, reject) => {
          const waiter = { resolve: (m) => (clearTimeout(timer), resolve(m)), reject: (e) => (clearTimeout(timer), reject(e)) };
          const timer = setTimeout(() => {
            waiting.splice(waiting.indexOf(waiter), 1);
            reject(new Error(`no answer from the scenario within ${timeout} ms: ${stderr.slice(-1500)}`));
          }, timeout);
          waiting.push(waiter);
        });
  return {
    next,
    async ask(command) {
      child.stdin.write(`${command}\n`);
      const answer = await next();
      if (answer.error) throw new Error(`the scenario failed: ${answer.error}`);
      return answer;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end('exit\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const edgeCount = (page, from, to) =>
  page.evaluate(([f, t]) => Number(document.querySelector(`#map g.edge[data-from="${f}"][data-to="${t}"]`)?.getAttribute('data-count') ?? 0), [from, to]);

export const dashboardTests = [
  {
    name: 'dashboard › the hub\'s page shows the live nodes, the flow map of a three-node scenario, and a dead letter that redrive delivers; a hub with a secret opens it with a dashboard token only',
    timeoutMs: 60_000,
    async run(page) {
      await mkdir(shots, { recursive: true });
      const scenario = startScenario();
      try {
        const { hub, mesh, secured, token } = await scenario.next(30_000);
        const errors = [];
        page.on('pageerror', (error) => errors.push(error.message));
        await page.setViewportSize({ width: 1280, height: 900 });
        // The hub's index lists the mesh; its link opens the mesh's live view.
        await page.goto(`${hub}/dashboard`);
        await page.click(`#meshes a:text-is("${mesh}")`, { timeout: 10_000 });
        await page.waitForURL(`${hub}/dashboard/mesh/${mesh}`);
        await page.waitForSelector('#status.live', { timeout: 10_000 });

        // The live nodes: every system's nodes in the map (the ops nodes are a badge, not boxes).
        await page.waitForFunction(() => ['ui', 'agent', 'db', 'ledger'].every((n) => document.querySelector(`#map g.node[data-node="${n}"]`)), null, { timeout: 10_000 });
        const systems = await page.$$eval('#map g.system[data-system]', (gs) => gs.map((g) => [g.getAttribute('data-system'), [...g.querySelectorAll('g.node')].map((n) => n.getAttribute('data-node'))]));
        equal(systems, [['browser', ['ui']], ['edge', ['agent']], ['server', ['db', 'ledger']]], 'systems and nodes in the node map');
        await page.screenshot({ path: `${shots}/dashboard-nodes.png`, fullPage: true });

        // The scenario runs while the page watches: traffic appears on the map's edges, live.
        const { correlationId, deadLetter } = await scenario.ask('run');
        if (!deadLetter) throw new Error('the scenario produced no dead letter');
        for (const [from, to] of [['ui', 'agent'], ['agent', 'db'], ['db', 'agent'], ['agent', 'ui'], ['agent', '*']]) {
          await page.waitForFunction(([f, t]) => Number(document.querySelector(`#map g.edge[data-from="${f}"][data-to="${t}"]`)?.getAttribute('data-count') ?? 0) >= 1, [from, to], { timeout: 10_000 });
        }
        equal(await edgeCount(page, 'ui', 'agent'), 1, 'events counted on the ui → agent edge');

        // The event stream, filtered by type pattern and node.
        await page.waitForSelector('#stream-body tr[data-type="report.generate"]');
        await page.waitForSelector('#stream-body tr[data-type="happen.error"]'); // the ledger's refusal, an error event
        await page.fill('#f-type', 'happen.*');
        await page.fill('#f-node', 'agent');
        await page.waitForFunction(() => document.querySelectorAll('#stream-body tr').length === 2);
        const replies = await page.$$eval('#stream-body tr', (rows) => rows.map((r) => `${r.getAttribute('data-type')} ${r.children[2].textContent}`));
        equal(replies, ['happen.reply agent → ui', 'happen.reply db → agent'], 'the events of happen.* to or from agent, newest first');
        await page.fill('#f-type', '');
        await page.fill('#f-node', '');

        // The causal flow map of the correlation id: boxes per node, arrows in causal order.
        await page.fill('#flow-id', correlationId);
        await page.click('#flow-form button');
        await page.waitForFunction(() => document.querySelectorAll('#flow g.step').length >= 5, null, { timeout: 10_000 });
        const steps = await page.$$eval('#flow g.step', (gs) => gs.map((g) => `${g.getAttribute('data-type')} ${g.getAttribute('data-from')}->${g.getAttribute('data-to')}`));
        equal(steps, ['report.generate ui->agent', 'report.started agent->*', 'analytics.getData agent->db', 'happen.reply db->agent', 'happen.reply agent->ui'], 'the flow map\'s arrows');
        const lanes = await page.$$eval('#flow g.lane', (gs) => gs.map((g) => g.getAttribute('data-lane')));
        equal(lanes, ['ui', 'agent', 'db', '*'], 'the flow map\'s node boxes');
        // Every arrow starts on its sender's lifeline and ends at its target's (causal order is top to bottom).
        const geometry = await page.$$eval('#flow g.step', (gs) => gs.map((g) => { const l = g.querySelector('line'); return l ? [Number(l.getAttribute('x1')), Number(l.getAttribute('x2')), Number(l.getAttribute('y1'))] : null; }));
        const laneX = await page.$$eval('#flow g.lane line', (ls) => ls.map((l) => Number(l.getAttribute('x1'))));
        const x = (lane) => laneX[lanes.indexOf(lane)];
        steps.forEach((step, i) => {
          const [from, to] = step.split(' ')[1].split('->');
          const [x1, x2, y] = geometry[i];
          if (x1 !== x(from) || Math.abs(x2 - x(to)) > 5) throw new Error(`arrow ${step} runs ${x1}→${x2}, the lanes are at ${x(from)}→${x(to)}`);
          if (i > 0 && !(y > geometry[i - 1][2])) throw new Error(`arrow ${step} is not below the one before`);
        });
        const tree = await page.$$eval('#flow-list li', (items) => items.map((li) => `${li.style.marginLeft || '0px'} ${li.textContent}`));
        equal(tree, ['0px report.generate ui → agent', '18px report.started agent → *', '18px analytics.getData agent → db', '36px happen.reply db → agent', '18px happen.reply agent → ui'], 'the causal tree under the map');
        await page.locator('#flow-panel').screenshot({ path: `${shots}/dashboard-flow.png` });

        // The dead letter, then its redrive: gone from the list, handled by the receiver.
        await page.waitForSelector(`#dead-body tr[data-key="${deadLetter}"]`, { timeout: 10_000 });
        const row = await page.$eval(`#dead-body tr[data-key="${deadLetter}"]`, (tr) => [tr.getAttribute('data-system'), tr.children[1].textContent, tr.children[2].textContent, tr.children[4].textContent]);
        equal(row, ['browser', 'ledger.post', 'ui → ledger', 'ledger offline'], 'the dead letter row');
        // Node health from the server's ops node: the ledger failed its one handling.
        await page.waitForSelector('#health [data-health-system="server"] tr[data-health-node="ledger"]');
        const ledgerHealth = await page.$eval('#health [data-health-system="server"] tr[data-health-node="ledger"]', (tr) => [...tr.children].slice(2, 4).map((td) => td.textContent));
        equal(ledgerHealth, ['1 / 2', '100.0%'], 'the ledger\'s events in / out and error rate');
        await page.screenshot({ path: `${shots}/dashboard-dead-letter.png`, fullPage: true });
        equal((await scenario.ask('status')).posted, [], 'ledger posts before the redrive');
        await page.click(`#dead-body tr[data-key="${deadLetter}"] button[data-action="redrive"]`);
        await page.waitForSelector(`#dead-body tr[data-key="${deadLetter}"]`, { state: 'detached', timeout: 10_000 });
        await page.waitForFunction(() => document.getElementById('dead-note').textContent.includes('redriven'));
        let status;
        for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
          status = await scenario.ask('status');
          if (status.posted.length > 0) break;
        }
        equal([status.posted.length, status.ledgerCalls, status.deadLetters], [1, 2, 0], 'ledger posts, ledger calls and dead letters after the redrive');
        await page.screenshot({ path: `${shots}/dashboard-redriven.png`, fullPage: true });
        await page.locator('#map-panel').screenshot({ path: `${shots}/dashboard-map.png` });

        // A hub with a secret: refused without a token; with a dashboard token, every fetch and the stream carry it.
        const refused = await page.goto(`${secured}/dashboard/mesh/vault`);
        equal(refused.status(), 401, 'the page without a token');
        if (!(await page.textContent('main')).includes('dashboard token')) throw new Error('the refusal does not say a dashboard token is needed');
        await page.goto(`${secured}/dashboard/mesh/vault?token=${token}`);
        await page.waitForSelector('#status.live', { timeout: 10_000 });
        await page.waitForSelector('#map g.system[data-system="keeper"] g.node[data-node="safe"]', { timeout: 10_000 });
        if (errors.length) throw new Error(`page errors: ${errors.join(' | ')}`);
        return `screenshots in .test-results/screenshots/dashboard-*.png`;
      } finally {
        await scenario.stop();
      }
    },
  },
];
