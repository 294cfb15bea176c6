/**
 * How the hub collects its systems' metrics: per mesh, the hub's asker (`hub-asker.ts`) asks the ops
 * node of every system the relay's peer table lists with one, each with a short timeout.
 */
import { HappenError } from '../core/errors.ts';
import type { HappenExtension } from '../core/extension.ts';
import type { Relay } from '../hub/relay.ts';
import { hubAsker, meshSystems } from './hub-asker.ts';
import { OPS_EVENTS, opsNodeId, type MetricsSnapshot } from './ops-contract.ts';

/** One system's answer to a scrape. */
export type ScrapeResult = { system: string; ok: true; snapshot: MetricsSnapshot; ms: number } | { system: string; ok: false; error: HappenError; ms: number };

/** The scraper of one mesh. */
export interface MeshScraper {
  /** Asks every system with an ops node for its metrics, all at once. */
  scrape(): Promise<ScrapeResult[]>;
  close(): Promise<void>;
}

/** Creates the scraper of one relay; nothing joins it until the first scrape. */
export function meshScraper(relay: Relay, options: { id: string; timeoutMs: number; idleMs: number; extensions: () => HappenExtension[] }): MeshScraper {
  const { id, timeoutMs, idleMs } = options;
  const asker = hubAsker(relay, options);
  // The systems that announced an ops node, from the relay's own table (no presence to wait for).
  const targets = () => meshSystems(relay, id).filter((s) => s.ops).map((s) => s.system);

  return {
    async scrape() {
      const systems = targets();
      if (systems.length === 0) return [];
      const from = await asker.node();
      return Promise.all(
        systems.map(async (system): Promise<ScrapeResult> => {
          const started = Date.now();
          try {
            const answer = await from.send<MetricsSnapshot>(opsNodeId(system), { type: OPS_EVENTS.metrics, payload: {} }).return({ timeout: timeoutMs });
            if (typeof answer !== 'object' || answer === null || !Array.isArray(answer.metrics)) {
              throw new HappenError('validation', 'INVALID_METRICS', `${system} answered ${OPS_EVENTS.metrics} with something that is not a metrics snapshot`);
            }
            // Labelled by the system the relay knows, whatever the answer claims.
            return { system, ok: true, snapshot: { ...answer, system }, ms: Date.now() - started };
          } catch (error) {
            return { system, ok: false, error: HappenError.from(error), ms: Date.now() - started };
          }
        }),
      );
    },
    close: asker.close,
  };
}
