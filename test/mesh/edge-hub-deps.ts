/** What the edge hub module needs from the hub entries (one import site keeps edge-hub.ts readable). */
export { HubDurableObject, hubWorker, type HubDurableObjectState, type HubEnv } from '../../src/hub/cloudflare.ts';
export { localTransport, type Relay } from '../../src/hub/index.ts';
