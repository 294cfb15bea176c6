/**
 * The programs-of-programs flow in Chromium (issue 8): the page's `ui` asks the analyst agent in a
 * worker for a report; the agent's model (an OpenAI-compatible local server, streaming) calls the
 * database node as a tool twice; the answer streams back as token events. Each test gets a fresh
 * browser context from the runner and throws to fail.
 */
import { startLlmServer } from '../llm-server.mjs';

const equal = (actual, expected, what) => {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
};

// The model: asked for a report, it calls query_sales for north and south; given the rows, it writes the totals it was sent.
function respond(call) {
  const last = call.messages.at(-1);
  if (last.role !== 'tool') return { toolCalls: [{ name: 'query_sales', arguments: { region: 'north' } }, { name: 'query_sales', arguments: { region: 'south' } }] };
  const totals = call.messages.filter((m) => m.role === 'tool').map((m) => JSON.parse(m.content)).map((r) => `${r.region} ${r.total}`);
  return { content: `Report: ${totals.join(', ')}.` };
}

export const agentTests = [
  {
    name: 'agent › programs of programs: a tab asks an agent in a worker for a report that needs the database node — tools as sends, streamed tokens, one causal trace',
    timeoutMs: 30_000,
    async run(page, origin) {
      const llm = await startLlmServer({ apiKey: 'browser-test-key', respond });
      try {
        page.on('pageerror', (error) => console.log(`[chromium:agent] pageerror: ${error.message}`));
        await page.goto(`${origin}/agent.html`);
        await page.waitForFunction(() => window.agentTab || window.agentLoadError, null, { timeout: 30_000 });
        const loadError = await page.evaluate(() => window.agentLoadError);
        if (loadError) throw new Error(`agent.js failed to load: ${loadError}`);
        await page.evaluate((url) => window.agentTab.start(url), llm.openaiBaseUrl);
        const { answer, tokens, browserTrace, edgeTrace } = await page.evaluate(() => window.agentTab.ask('Sales report for north and south, please.'));

        equal(answer.content, 'Report: north 3360, south 4110.', 'the answer (written from the rows the database returned)');
        equal(answer.rounds, 2, 'model rounds');
        equal(answer.toolCalls.map((c) => [c.name, c.arguments, c.result.total]), [['query_sales', { region: 'north' }, 3360], ['query_sales', { region: 'south' }, 4110]], 'tool calls');
        equal(tokens.join(''), answer.content, 'the token events the tab heard, joined');
        if (tokens.length < 3) throw new Error(`expected the answer streamed in several tokens, got ${tokens.length}`);
        equal(llm.calls.length, 2, 'requests the model server received');
        equal(llm.calls.map((c) => c.stream), [true, true], 'streamed requests');
        equal(llm.calls[1].messages.filter((m) => m.role === 'tool').length, 2, 'tool turns sent back to the model');
        equal(llm.calls[0].body.tools.map((t) => t.function.name), ['query_sales'], 'tools offered to the model');

        const edgeTree = edgeTrace.filter((line) => !line.includes('agent.token'));
        equal(edgeTree, [
          'agent.think (ui → analyst)',
          '  db.sales (analyst → db)',
          '    happen.reply (db → analyst)',
          '  db.sales (analyst → db)',
          '    happen.reply (db → analyst)',
          '  agent.answer (analyst → all)',
          '  happen.reply (analyst → ui)',
        ], 'the causal tree in the worker (tokens aside)');
        if (!edgeTrace.some((line) => line === '  agent.token (analyst → all)')) throw new Error('no token event under the think in the worker trace');
        const browserTree = browserTrace.filter((line) => !line.includes('agent.token'));
        equal(browserTree, ['agent.think (ui → analyst)', '  agent.answer (analyst → all)', '  happen.reply (analyst → ui)'], 'the same tree as the tab saw it');
        return `${tokens.length} tokens streamed to the tab`;
      } finally {
        await llm.close();
      }
    },
  },
];
