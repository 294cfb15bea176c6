/**
 * A small system the hub hosts on a mesh's relay, in-process, to ask the systems' ops nodes (the
 * dashboard's questions, the metrics scrape). It joins on the first question and leaves after
 * `idleMs` without one, so an idle hub (a hibernating Durable Object) hosts nothing.
 */
import type { HappenExtension } from '../core/extension.ts';
import { createHappen } from '../core/index.ts';
import type { HappenNode } from '../core/node-api.ts';
import { localTransport } from '../hub/local.ts';
import type { Relay } from '../hub/relay.ts';
import { mesh, type Mesh } from '../mesh/mesh.ts';
import { opsNodeId } from './ops-contract.ts';

/** The hosted system's one node, made on demand. */
export interface HubAsker {
  /** The node to send from: joined and ready (restarts the idle timer). */
  node(): Promise<HappenNode>;
  close(): Promise<void>;
}

/** Hosts the asker `id` on `relay` while it is used; `extensions` (e.g. a signer) are added to its system. */
export function hubAsker(relay: Relay, options: { id: string; idleMs: number; extensions?: () => HappenExtension[] }): HubAsker {
  const { id, idleMs } = options;
  let hosted: { link: Mesh; node: HappenNode } | undefined;
  let idle: ReturnType<typeof setTimeout> | undefined;

  async function close(): Promise<void> {
    clearTimeout(idle);
    const was = hosted;
    hosted = undefined;
    await was?.link.close();
  }

  return {
    async node() {
      clearTimeout(idle);
      idle = setTimeout(() => void close(), idleMs);
      (idle as { unref?: () => void }).unref?.();
      if (!hosted) {
        // Trusted in-process: it joins with claims of its own when the hub requires tokens.
        const link = mesh({ transports: [localTransport(relay, { claims: { sub: id, iat: Date.now(), exp: Number.MAX_SAFE_INTEGER } })] });
        hosted = { link, node: createHappen({ id, extensions: [...(options.extensions?.() ?? []), link] }).createNode(id) };
      }
      await hosted.link.ready; // a send before the local link opens would go nowhere
      return hosted.node;
    },
    close,
  };
}

/** The systems on the relay (but `except`), sorted, and whether each announced an ops node. */
export function meshSystems(relay: Relay, except: string): Array<{ system: string; ops: boolean }> {
  const found = new Map<string, boolean>();
  for (const peer of relay.peers()) {
    const state = relay.state(peer);
    if (state?.system === undefined || state.system === except) continue;
    found.set(state.system, (found.get(state.system) ?? false) || state.nodes.includes(opsNodeId(state.system)));
  }
  return [...found].sort(([a], [b]) => (a < b ? -1 : 1)).map(([system, ops]) => ({ system, ops }));
}
