import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';

// The README's first command: the main demo runs on embedded defaults and tells the whole story.
test('[node] the main demo runs: UI → agent → database over a local hub, tools as sends, one causal tree', () => {
  const root = join(import.meta.dirname, '..', '..');
  const env = { ...process.env, HAPPEN_MODEL_URL: '' }; // embedded defaults: the stand-in model
  const run = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['examples/demo.ts'], { cwd: root, encoding: 'utf8', timeout: 30_000, env });
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toContain('mesh: ui@browser, db@server, analyst@edge (model: stand-in)');
  expect(run.stdout).toContain('analyst used query_sales({"region":"north"}) → total 3360');
  expect(run.stdout).toContain('analyst used query_sales({"region":"south"}) → total 4110');
  expect(run.stdout).toContain('ui: answer after 2 model rounds (streamed to the UI as token events):\nSales report\n- north: 3,360 over 3 months (best 2026-11: 1,240)\n- south: 4,110');
  expect(run.stdout).toContain('ui: validation error INVALID_PAYLOAD');
  expect(run.stdout).toContain('ui: runtime error HANDLER_ERROR: no sales recorded for north in 1999-01');
  expect(run.stdout).toMatch(
    /saw it:\nagent\.think {2}\(ui → analyst\)\n {2}└ db\.sales {2}\(analyst → db\)\n {4}└ happen\.reply {2}\(db → analyst\)\n {2}└ db\.sales {2}\(analyst → db\)\n {4}└ happen\.reply {2}\(db → analyst\)\n {2}└ agent\.token … {2}\(analyst → all\)\n {2}└ agent\.answer {2}\(analyst → all\)\n {2}└ happen\.reply {2}\(analyst → ui\)/,
  );
});
