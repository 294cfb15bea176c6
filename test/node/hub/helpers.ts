/** Shared pieces of the hub tests: frame builders and a recording peer. */
import { Packr } from 'msgpackr';
import { buildEvent, type HappenEvent } from '../../../src/core/event.ts';
import { createIdGenerator } from '../../../src/core/ids.ts';
import { decodeFrame, encodeFrame, type FrameFormat } from '../../../src/transports/codec.ts';
import { forEachFrame } from '../../../src/transports/batch.ts';
import type { EventFrame, Frame } from '../../../src/transports/frames.ts';
import type { FrameData } from '../../../src/transports/transport.ts';
import type { Peer } from '../../../src/hub/relay.ts';

const nextId = createIdGenerator();

/** A peer that records what the relay sends it, decoded. */
export interface RecordingPeer extends Peer {
  raw: FrameData[];
  frames: Frame[];
  closed?: { code?: number; reason?: string };
  events(): HappenEvent[];
}

export function recordingPeer(): RecordingPeer {
  const peer: RecordingPeer = {
    raw: [],
    frames: [],
    send(data) {
      peer.raw.push(data);
      peer.frames.push(decodeFrame(data));
    },
    close(code, reason) {
      peer.closed = { code, reason };
    },
    events: () => peer.frames.filter((f): f is EventFrame => f.t === 'event').map((f) => f.event),
  };
  return peer;
}

export const presence = (system: string, nodes: string[], interval = 1000): Frame => ({ v: 1, t: 'presence', system, nodes, interval });
export const bye = (system: string): Frame => ({ v: 1, t: 'bye', system });

/** An event as a mesh would emit it: a send when `target` is given, else a broadcast. */
export function event(sender: string, type: string, payload: unknown, target?: string): HappenEvent {
  const now = Date.now();
  return buildEvent(nextId(now), now, sender, { type, payload }, undefined, target);
}

export const eventFrame = (from: string, e: HappenEvent): Frame => ({ v: 1, t: 'event', from, event: e });
export const encode = (frame: Frame, format: FrameFormat = 'msgpack') => encodeFrame(frame, format);

/** msgpack as an older peer or another msgpack library writes it: every value as maps, no compact event frames. */
export const mapPackr = new Packr({ useRecords: false, moreTypes: false, structuredClone: false, mapsAsObjects: true });
/** A value (a frame, or a compact frame's array) in plain msgpack, via {@link mapPackr}. */
export const asMap = (value: unknown) => new Uint8Array(mapPackr.pack(value));

/** Resolves when `check` passes, polling every 10 ms; rejects with the last failure after `timeout`. */
export async function eventually<T>(check: () => T, timeout = 5000): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return check();
    } catch (error) {
      if (Date.now() - started > timeout) throw error;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** A TransportLink that records what a transport hands the mesh. */
export function recordingLink() {
  const link = {
    frames: [] as Frame[],
    statuses: [] as string[],
    errors: [] as Array<{ code: string }>,
    receive(data: FrameData) {
      forEachFrame(data, (frame) => link.frames.push(decodeFrame(frame))); // a transport hands batches on whole
    },
    status(s: string) {
      link.statuses.push(s);
    },
    error(e: { code: string }) {
      link.errors.push(e);
    },
    events: () => link.frames.filter((f): f is EventFrame => f.t === 'event').map((f) => f.event),
  };
  return link;
}
