/** `happen/mesh`: joins systems across tabs, workers, edge and servers through transports. */
export { mesh, MESH_NODE_JOINED, MESH_NODE_LEFT, type Mesh, type MeshNode, type MeshOptions, type MeshPeer, type MeshStats } from './mesh.ts';
export { PeerTable, MISSED_HEARTBEATS, type MembershipChange, type Peer } from './peers.ts';
export { Durability, type DurableHost, type DurableOptions, type QueueStats } from './durable.ts';
export type { DeadLetter, DeadLetters } from './dead-letters.ts';
export { retryLater, terminate, RETRY_LATER, TERMINATE } from './delivery-errors.ts';
export { retryDelay, type RetryOptions } from './retry.ts';
export { delivery, type DeliveryControl } from './delivery-control.ts';
