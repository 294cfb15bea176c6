/**
 * How the hub collects its systems' metrics: per mesh, a small system hosted in the hub and joined to
 * the relay in-process asks the ops node of every system the relay's peer table lists with one, each
 * with a short timeout. It lives only while scraped, so an idle hub hosts nothing.
 */
import { createHappen } from '../core/index.ts';
import { HappenError } from '../core/errors.ts';
import type { HappenExtension } from '../core/extension.ts';
import type { HappenNode } from '../core/node-api.ts';
import { localTransport } from '../hub/local.ts';
import type { Relay } from '../hub/relay.ts';
import { mesh, type Mesh } from '../mesh/mesh.ts';
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
  let hosted: { link: Mesh; node: HappenNode } | undefined;
  let idle: ReturnType<typeof setTimeout> | undefined;

  async function node(): Promise<HappenNode> {
    clearTimeout(idle);
    idle = setTimeout(() => void close(), idleMs);
    (idle as { unref?: () => void }).unref?.();
    if (!hosted) {
      // Trusted in-process: it joins with claims of its own when the hub requires tokens.
      const link = mesh({ transports: [localTransport(relay, { claims: { sub: id, iat: Date.now(), exp: Number.MAX_SAFE_INTEGER } })] });
      hosted = { link, node: createHappen({ id, extensions: [...options.extensions(), link] }).createNode(id) };
    }
    await hosted.link.ready;
    return hosted.node;
  }

  async function close(): Promise<void> {
    clearTimeout(idle);
    const was = hosted;
    hosted = undefined;
    await was?.link.close();
  }

  // The systems that announced an ops node, from the relay's own table (no presence to wait for).
  function targets(): string[] {
    const found = new Set<string>();
    for (const peer of relay.peers()) {
      const state = relay.state(peer);
      if (state?.system !== undefined && state.system !== id && state.nodes.includes(opsNodeId(state.system))) found.add(state.system);
    }
    return [...found].sort();
  }

  return {
    async scrape() {
      const systems = targets();
      if (systems.length === 0) return [];
      const asker = await node();
      return Promise.all(
        systems.map(async (system): Promise<ScrapeResult> => {
          const started = Date.now();
          try {
            const answer = await asker.send<MetricsSnapshot>(opsNodeId(system), { type: OPS_EVENTS.metrics, payload: {} }).return({ timeout: timeoutMs });
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
    close,
  };
}
