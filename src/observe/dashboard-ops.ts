/**
 * How the dashboard asks systems for their health and dead letters: the hub's asker (`hub-asker.ts`)
 * sends the ops contract's events to each system's ops node and returns the answers.
 */
import { HappenError, type SerializedError } from '../core/errors.ts';
import type { Relay } from '../hub/relay.ts';
import { hubAsker, meshSystems } from './hub-asker.ts';
import { OPS_EVENTS, opsNodeId, type DeadLetterSummary, type SystemHealth } from './ops-contract.ts';

/** Options for {@link createOpsClient}. */
export interface OpsClientOptions {
  /** The hub-hosted system's id, also its node's (default `happen.dashboard`). */
  id?: string;
  /** How long one answer may take (default 2 s). */
  timeoutMs?: number;
  /** Closes the hosted system after this long without a question (default 60 s). */
  idleMs?: number;
}

/** One system's answer, or why there is none. */
export type OpsAnswer<T> = { system: string; ok: true; value: T } | { system: string; ok: false; error: SerializedError };

/** The dashboard's questions to the ops nodes of one mesh. */
export interface OpsClient {
  readonly id: string;
  /** The systems of the mesh (from the relay's peer table) and whether each hosts an ops node. */
  systems(): Array<{ system: string; ops: boolean }>;
  health(): Promise<Array<OpsAnswer<SystemHealth>>>;
  deadLetters(limit?: number): Promise<Array<OpsAnswer<DeadLetterSummary[]>>>;
  redrive(system: string, key: string): Promise<{ redriven: boolean }>;
  discard(system: string, key: string): Promise<{ discarded: boolean }>;
  close(): Promise<void>;
}

/** Creates the ops client of one relay; nothing joins the relay until the first question. */
export function createOpsClient(relay: Relay, options: OpsClientOptions = {}): OpsClient {
  const id = options.id ?? 'happen.dashboard';
  const timeoutMs = options.timeoutMs ?? 2_000;
  const idleMs = options.idleMs ?? 60_000;
  const asker = hubAsker(relay, { id, idleMs });
  const systems = () => meshSystems(relay, id);

  async function ask<T>(system: string, type: string, payload: unknown): Promise<T> {
    return (await asker.node()).send<T>(opsNodeId(system), { type, payload }).return({ timeout: timeoutMs });
  }

  /** Asks every system with an ops node at once; a silent or failing one is reported, not thrown. */
  async function everyone<T>(type: string, payload: unknown): Promise<Array<OpsAnswer<T>>> {
    return Promise.all(
      systems().map(async ({ system, ops }): Promise<OpsAnswer<T>> => {
        if (!ops) return { system, ok: false, error: noOpsNode(system).toJSON() };
        try {
          return { system, ok: true, value: await ask<T>(system, type, payload) };
        } catch (error) {
          return { system, ok: false, error: HappenError.from(error).toJSON() };
        }
      }),
    );
  }

  function known(system: string): void {
    const entry = systems().find((s) => s.system === system);
    if (!entry) throw new HappenError('validation', 'NO_SUCH_SYSTEM', `No system ${system} is connected to this mesh`, { system });
    if (!entry.ops) throw noOpsNode(system);
  }

  return {
    id,
    systems,
    health: () => everyone<SystemHealth>(OPS_EVENTS.health, {}),
    deadLetters: (limit) => everyone<DeadLetterSummary[]>(OPS_EVENTS.deadLetters, limit === undefined ? {} : { limit }),
    async redrive(system, key) {
      known(system);
      return ask<{ redriven: boolean }>(system, OPS_EVENTS.redrive, { key });
    },
    async discard(system, key) {
      known(system);
      return ask<{ discarded: boolean }>(system, OPS_EVENTS.discard, { key });
    },
    close: asker.close,
  };
}

function noOpsNode(system: string): HappenError {
  return new HappenError('runtime', 'NO_OPS_NODE', `System ${system} hosts no ops node (${opsNodeId(system)}): turn observability on there`, { system });
}
