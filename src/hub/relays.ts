/** One relay per mesh name, created on first use; what `/health` and the sweep timer iterate. */
import type { Storage } from '../storage/storage.ts';
import { hubLog } from './durable-log.ts';
import { createRelay, type Relay, type RelayOptions } from './relay.ts';

/** Options shared by every relay of a hub. */
export interface RelaysOptions extends Omit<RelayOptions, 'log'> {
  /** Where each mesh's durable log lives (keys prefixed per mesh); without it the hub keeps no log. */
  storage?: Storage;
  /** Failures of the log's background writes (default: ignored; senders resend anyway). */
  onLogError?: (error: unknown) => void;
}

/** The relays of one hub, by mesh name. */
export interface Relays {
  get(mesh: string): Relay;
  entries(): Array<[string, Relay]>;
  /** Sweeps every relay; returns how many peers were dropped. */
  sweep(now?: number): number;
  stats(): { meshes: number; peers: number; nodes: number };
}

/** Creates an empty registry; every relay it makes shares `options`. `created` sees each new relay (to host edge nodes in it). */
export function createRelays(options: RelaysOptions = {}, created?: (mesh: string, relay: Relay) => void): Relays {
  const { storage, onLogError, ...relayOptions } = options;
  const relays = new Map<string, Relay>();
  return {
    get(mesh) {
      let relay = relays.get(mesh);
      if (!relay) {
        const log = storage ? hubLog(storage, { prefix: `happen/hub/${encodeURIComponent(mesh)}/log/` }, onLogError) : undefined;
        relays.set(mesh, (relay = createRelay({ ...relayOptions, ...(log ? { log } : {}) })));
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
