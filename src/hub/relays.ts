/** One relay per mesh name, created on first use; what `/health` and the sweep timer iterate. */
import { createRelay, type Relay, type RelayOptions } from './relay.ts';

/** The relays of one hub, by mesh name. */
export interface Relays {
  get(mesh: string): Relay;
  entries(): Array<[string, Relay]>;
  /** Sweeps every relay; returns how many peers were dropped. */
  sweep(now?: number): number;
  stats(): { meshes: number; peers: number; nodes: number };
}

/** Creates an empty registry; every relay it makes shares `options`. `created` sees each new relay (to host edge nodes in it). */
export function createRelays(options: RelayOptions = {}, created?: (mesh: string, relay: Relay) => void): Relays {
  const relays = new Map<string, Relay>();
  return {
    get(mesh) {
      let relay = relays.get(mesh);
      if (!relay) {
        relays.set(mesh, (relay = createRelay(options)));
        created?.(mesh, relay);
      }
      return relay;
    },
    entries: () => [...relays],
    sweep(now) {
      let dropped = 0;
      for (const relay of relays.values()) dropped += relay.sweep(now);
      return dropped;
    },
    stats() {
      let peers = 0;
      let nodes = 0;
      for (const relay of relays.values()) {
        const s = relay.stats();
        peers += s.peers;
        nodes += s.nodes;
      }
      return { meshes: relays.size, peers, nodes };
    },
  };
}
