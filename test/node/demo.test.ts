import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';

// The README's first command: the main demo runs on embedded defaults and tells the whole story.
test('[node] the main demo runs: three programs meshed through a local hub, one causal tree', () => {
  const root = join(import.meta.dirname, '..', '..');
  const run = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['examples/demo.ts'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toContain('mesh: ui@browser, db@server, agent@edge');
  expect(run.stdout).toContain("ui: result { user: 'sarah', visits: 42 }");
  expect(run.stdout).toContain('ui: validation error INVALID_PAYLOAD');
  expect(run.stdout).toContain('ui: runtime error HANDLER_ERROR: no data for nobody');
  expect(run.stdout).toMatch(/as the edge program saw it:\nreport\.generate {2}\(ui → agent\)\n {2}└ report\.started {2}\(agent → all\)\n {2}└ analytics\.getData {2}\(agent → db\)\n {4}└ happen\.reply {2}\(db → agent\)\n {2}└ happen\.reply {2}\(agent → ui\)/);
});
