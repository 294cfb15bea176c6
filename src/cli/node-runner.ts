/**
 * One node process of `happen dev`: loads a node module, runs its setup in a system joined to the dev
 * hub over the WebSocket transport, records what its nodes handle, and tells the parent over IPC when
 * it is ready. It exits 0 when asked to stop (an IPC `stop`, SIGTERM/SIGINT, or the parent going
 * away) and non-zero when the module fails — which the parent counts as a crash and restarts.
 *
 * Started as `node [--import <tsx>] [--experimental-websocket] node-runner.(ts|js)` with the
 * {@link RunnerSpec} in `HAPPEN_DEV_RUNNER`; never imported.
 */
import { pathToFileURL } from 'node:url';
import { createHappen } from '../core/index.ts';
import { HappenError } from '../core/errors.ts';
import { mesh } from '../mesh/mesh.ts';
import { observability } from '../observe/observability.ts';
import { createAdmissionToken } from '../security/tokens.ts';
import { websocket } from '../transports/websocket.ts';
import { LogRecorder, logFileOf } from './dev-log.ts';
import { RUNNER_ENV, type DevMessage, type RunnerMessage, type RunnerSpec } from './dev-protocol.ts';
import { setupOf } from './ts-loader.ts';

const spec = JSON.parse(process.env[RUNNER_ENV] ?? 'null') as RunnerSpec | null;
if (spec === null) {
  process.stderr.write(`node-runner: ${RUNNER_ENV} is not set (happen dev starts this file)\n`);
  process.exit(2);
}

function tell(message: RunnerMessage): void {
  if (process.connected) process.send!(message);
}

const secret = process.env.HAPPEN_SECRET;
// A fresh token for every (re)connect, so a long session outlives any one token.
const token = secret === undefined ? undefined : () => createAdmissionToken(secret, { sub: spec.system, mesh: spec.mesh, ttlMs: 3_600_000 });
const link = mesh({
  transports: [websocket(spec.meshUrl, { ...(token ? { token } : {}) })],
});
const { metrics, samplingRate, otlpEndpoint } = spec.observability;
const happen = createHappen({
  id: spec.system,
  extensions: [link],
  observability: observability({ metrics, samplingRate, tracing: otlpEndpoint === undefined ? false : { endpoint: otlpEndpoint } }),
});

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Say goodbye so the hub drops this system at once, but never hang on a hub that is gone.
  await Promise.race([link.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
  process.exit(code);
}

process.on('message', (message: DevMessage) => {
  if (message?.type === 'stop') void stop(0);
});
process.on('disconnect', () => void stop(0)); // the parent went away: do not linger as an orphan
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

try {
  const setup = setupOf((await import(pathToFileURL(spec.file).href)) as { default?: unknown }, spec.file);
  const node = await setup(happen);
  await node.ready;
  await link.ready;
  const nodes = happen.nodes().filter((id) => happen.getNode(id) !== undefined && !id.startsWith('happen.'));
  if (spec.logDir !== undefined) {
    for (const id of nodes) {
      const recorder = new LogRecorder(logFileOf(spec.logDir, id));
      happen.getNode(id)!.hook('preHandle', (event) => void recorder.append(event));
    }
  }
  tell({ type: 'ready', system: spec.system, nodes });
} catch (error) {
  const failure = HappenError.from(error);
  tell({ type: 'failed', code: failure.code, message: failure.message });
  process.stderr.write(`${error instanceof Error && error.stack ? error.stack : failure.message}\n`);
  await stop(1);
}
