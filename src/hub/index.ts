/** `happen/hub`: the runtime-neutral hub — the relay, the hono app and the in-process transport into it. */
export { createHubApp, type HubAppOptions } from './app.ts';
export { admit, tokenOf, type Admission } from './admission.ts';
export { localTransport, type LocalTransportOptions } from './local.ts';
export { CLOSE_LAPSED, CLOSE_REFUSED, createRelay, type JoinOptions, type Peer, type PeerState, type Relay, type RelayOptions } from './relay.ts';
export { createRelays, type Relays } from './relays.ts';
export type { HubServer, ServeHubOptions } from './server.ts';
