/**
 * `happen/transports`: the `Transport` interface and the wire codec (msgpack by default, JSON for
 * debugging; frame values on `clone` links). Each transport is its own entry:
 * `happen/transports/memory`, `/broadcast-channel`, `/websocket`, `/http`, `/nats`.
 */
export { forEachFrame, forEachFrameRange, isBatch } from './batch.ts';
export { checkFrame, decodeFrame, DEFAULT_MAX_FRAME_BYTES, encodeFrame, frameBytes, type DecodeOptions, type FrameFormat } from './codec.ts';
export { FRAME_KINDS, PROTOCOL_VERSION, type AckFrame, type ByeFrame, type DeliveryAck, type DeliveryInfo, type ErrorFrame, type EventFrame, type Frame, type PresenceFrame } from './frames.ts';
export type { FrameData, FrameMessage, FrameRoute, FrameValue, Transport, TransportFormat, TransportLink, TransportReach, TransportStatus } from './transport.ts';
