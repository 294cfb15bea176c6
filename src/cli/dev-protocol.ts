/**
 * What `happen dev` and its node processes (node-runner.ts) tell each other: the runner's settings
 * travel in one environment variable, messages over the child's IPC channel.
 */

/** The environment variable holding a runner's {@link RunnerSpec} as JSON. */
export const RUNNER_ENV = 'HAPPEN_DEV_RUNNER';

/** What a node process runs: one node module, joined to the dev hub's mesh. */
export interface RunnerSpec {
  /** The node module (absolute path). */
  file: string;
  /** The system id the process joins the mesh as. */
  system: string;
  mesh: string;
  /** The mesh's URL on the hub: `http://host:port/mesh/<mesh>`. */
  meshUrl: string;
  /** Where each node's handled events are recorded (`undefined`: not recorded). */
  logDir: string | undefined;
  observability: { metrics: boolean; samplingRate: number; otlpEndpoint: string | undefined };
}

/** Runner → dev. */
export type RunnerMessage =
  /** Setup finished: the module's nodes exist and the mesh link is open. */
  | { type: 'ready'; system: string; nodes: string[] }
  /** The module failed to load or set up; the process exits non-zero next. */
  | { type: 'failed'; code: string; message: string };

/** Dev → runner: leave the mesh and exit. */
export type DevMessage = { type: 'stop' };
