import type { Transport } from '../transports/transport.ts';

/** One other system of the mesh, as this system last heard of it. */
export interface Peer {
  system: string;
  nodes: ReadonlySet<string>;
  /** The transport its frames arrive on (and sends to its nodes leave by). */
  transport: Transport;
  /** When its last presence arrived (ms since the epoch). */
  lastSeen: number;
  /** Its heartbeat interval in ms. */
  interval: number;
}

/** A change to the mesh's membership, as the peer table reports it. */
export interface MembershipChange {
  node: string;
  system: string;
  change: 'joined' | 'left';
  reason?: 'bye' | 'heartbeat' | 'closed' | 'moved';
}

/** How many missed heartbeats make a peer gone. */
export const MISSED_HEARTBEATS = 3;

/**
 * The routing table: which system hosts which node, and when each system was last heard from.
 * The last system to announce a node owns it (a node that moved is reachable at its new home at once).
 */
export class PeerTable {
  #peers = new Map<string, Peer>();
  #owner = new Map<string, string>();

  /** Records a presence; returns the membership changes it implies. */
  presence(system: string, nodes: string[], interval: number, transport: Transport, now: number): MembershipChange[] {
    const changes: MembershipChange[] = [];
    const before = this.#peers.get(system)?.nodes ?? new Set<string>();
    const after = new Set(nodes);
    for (const node of before) if (!after.has(node)) this.disown(node, system, 'bye', changes);
    for (const node of after) {
      const owner = this.#owner.get(node);
      if (owner === system) continue;
      if (owner !== undefined) changes.push({ node, system: owner, change: 'left', reason: 'moved' });
      this.#owner.set(node, system);
      changes.push({ node, system, change: 'joined' });
    }
    this.#peers.set(system, { system, nodes: after, transport, lastSeen: now, interval });
    return changes;
  }

  /** Forgets a system and its nodes. */
  remove(system: string, reason: NonNullable<MembershipChange['reason']>): MembershipChange[] {
    const peer = this.#peers.get(system);
    if (!peer) return [];
    this.#peers.delete(system);
    const changes: MembershipChange[] = [];
    for (const node of peer.nodes) this.disown(node, system, reason, changes);
    return changes;
  }

  /** Forgets every system whose heartbeats lapsed. */
  expire(now: number): MembershipChange[] {
    const changes: MembershipChange[] = [];
    for (const peer of [...this.#peers.values()]) {
      if (now - peer.lastSeen > MISSED_HEARTBEATS * peer.interval) changes.push(...this.remove(peer.system, 'heartbeat'));
    }
    return changes;
  }

  /** Forgets every system heard on one transport (it closed). */
  dropTransport(transport: Transport): MembershipChange[] {
    const changes: MembershipChange[] = [];
    for (const peer of [...this.#peers.values()]) if (peer.transport === transport) changes.push(...this.remove(peer.system, 'closed'));
    return changes;
  }

  /** The peer hosting a node, if any. */
  hostOf(node: string): Peer | undefined {
    const system = this.#owner.get(node);
    return system === undefined ? undefined : this.#peers.get(system);
  }

  /** Whether a system has been heard from. */
  has(system: string): boolean {
    return this.#peers.has(system);
  }

  /** Every known peer. */
  peers(): Peer[] {
    return [...this.#peers.values()];
  }

  /** Every node other systems host. */
  nodes(): string[] {
    return [...this.#owner.keys()];
  }

  private disown(node: string, system: string, reason: NonNullable<MembershipChange['reason']>, changes: MembershipChange[]): void {
    if (this.#owner.get(node) !== system) return;
    this.#owner.delete(node);
    changes.push({ node, system, change: 'left', reason });
  }
}
