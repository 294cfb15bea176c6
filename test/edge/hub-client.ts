/** What the edge hub test drives from Node: the real client transports and the wire codec. */
export { websocket } from '../../src/transports/websocket.ts';
export { http } from '../../src/transports/http.ts';
export { decodeFrame, encodeFrame } from '../../src/transports/codec.ts';
export { forEachFrame } from '../../src/transports/batch.ts';
export { buildEvent } from '../../src/core/event.ts';
export { createIdGenerator } from '../../src/core/ids.ts';
export { createAdmissionToken } from '../../src/security/tokens.ts';
export { identityFromSeed } from '../../src/security/identity.ts';
export { verifyEvent } from '../../src/security/signing.ts';
export { nobleBackend, toBase64Url } from '../../src/security/index.ts';
