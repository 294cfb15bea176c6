/**
 * One probe per tab (or worker) around a `broadcastChannel()` transport, driven by the multi-page
 * tests in `bus-tests.mjs` through `window.bus`: what arrived, what failed, and who leads, with the
 * wall-clock time of every leadership change so the runner can measure takeovers.
 */
import { createHappen } from '../../src/index.ts';
import { hasWebLocks } from '../../src/platform/index.ts';
import { broadcastChannel, type BroadcastChannelOptions, type BroadcastChannelTransport } from '../../src/transports/broadcast-channel.ts';
import { decodeFrame, encodeFrame } from '../../src/transports/codec.ts';
import type { Frame } from '../../src/transports/frames.ts';
import type { FrameMessage, TransportFormat } from '../../src/transports/transport.ts';

let transport: BroadcastChannelTransport | undefined;
const received: Array<{ frame?: Frame; error?: string }> = [];
const errors: Array<{ name: string; category: string; code: string; message: string }> = [];
const statuses: string[] = [];
const leadership: Array<{ leader: boolean; at: number }> = [];
let leaderPromiseAt: number | undefined;

/** Opens this context's transport, recording everything its link is told. */
function start(options: BroadcastChannelOptions = {}): void {
  transport = broadcastChannel(options);
  transport.onLeaderChange((leader) => leadership.push({ leader, at: Date.now() }));
  void transport.leader.then(() => (leaderPromiseAt = Date.now()));
  transport.open({
    receive(data: FrameMessage) {
      try {
        received.push({ frame: decodeFrame(data) });
      } catch (error) {
        received.push({ error: String((error as Error).message) });
      }
    },
    status: (status) => statuses.push(status),
    error: (e) => errors.push({ name: e.name, category: e.category, code: e.code, message: e.message }),
  });
}

/** A real event frame (unicode, nesting, and bytes where the format carries them) made by a Happen system in this context. */
async function eventFrame(system: string, format: TransportFormat): Promise<Frame> {
  const happen = createHappen();
  const payload = { text: 'héllo ✓ 🌍', nested: { list: [1, 2.5, null, true] } };
  const event = happen.createNode(`${system}-node`).broadcast({
    type: 'bus.hello',
    payload: format === 'json' ? payload : { ...payload, bytes: new Uint8Array([0, 1, 254, 255]) },
  });
  await happen.settled();
  return { v: 1, t: 'event', from: system, event };
}

/** Encodes (unless it goes as a value) and sends a frame; returns it as sent, for comparing with what the other side decodes. */
function send(frame: Frame, format: TransportFormat = 'msgpack'): string {
  transport!.send(format === 'clone' ? frame : encodeFrame(frame, format));
  return canon(frame);
}

/** Sends a fresh event frame from this context; returns it canonicalised. */
async function sendEvent(system: string, format: TransportFormat = 'msgpack'): Promise<string> {
  return send(await eventFrame(system, format), format);
}

/** Posts any value on the mesh's channel name, as foreign code sharing the name would. */
function postForeign(mesh: string, value: unknown): void {
  const channel = new BroadcastChannel(`happen:${mesh}`);
  channel.postMessage(value);
  channel.close();
}

/** Hands the transport what is not a frame, and a frame whose buffer was detached (uncloneable). */
function sendBad(): void {
  transport!.send({ not: 'a frame' } as never);
  const bytes = new Uint8Array(8);
  structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
  transport!.send(bytes);
}

/** Makes this context go silent on every channel (a hung tab): election messages are dropped, so others stop hearing it. */
function silence(): void {
  const post = BroadcastChannel.prototype.postMessage;
  BroadcastChannel.prototype.postMessage = function (this: BroadcastChannel, message: unknown) {
    if (this.name.endsWith(':leader')) return;
    post.call(this, message);
  };
}

/** Starts a dedicated worker that opens its own transport on `mesh` and sends one event frame. */
function fromWorker(mesh: string, format: TransportFormat): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker('/bus-worker.js');
    worker.onerror = (e) => reject(new Error(`bus-worker.js failed: ${e.message}`));
    worker.onmessage = (e) => resolve(canon(e.data));
    worker.postMessage({ mesh, format });
  });
}

// JSON with bytes marked, so equal text on both sides also means the bytes arrived as a Uint8Array.
const canon = (value: unknown) => JSON.stringify(value, (_, v) => (v instanceof Uint8Array ? { $bytes: Array.from(v) } : v));

const state = () => ({
  frames: received.map((r) => (r.frame ? canon(r.frame) : `error: ${r.error}`)),
  errors,
  statuses,
  leader: transport?.isLeader() ?? false,
  leadership,
  leaderPromiseAt,
  webLocks: hasWebLocks(),
});

(globalThis as Record<string, unknown>).bus = { start, sendEvent, postForeign, sendBad, silence, fromWorker, state, close: () => transport?.close() };
