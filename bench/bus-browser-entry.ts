/**
 * A round trip over BroadcastChannel in a Chromium page: Happen's send→return between two meshed
 * systems against a raw ping-pong between two channels. Both cross the same channel machinery
 * (two BroadcastChannel objects of one name in one page), so the ratio is Happen's own overhead.
 */
import { createHappen } from '../src/index.ts';
import { mesh } from '../src/mesh/index.ts';
import { broadcastChannel } from '../src/transports/broadcast-channel.ts';
import { encodeFrame } from '../src/transports/codec.ts';
import { runScenario, type Contender, type ScenarioResult } from './harness.ts';

async function happenRoundTrip(): Promise<Contender & { close(): Promise<void> }> {
  const meshA = mesh({ transports: [broadcastChannel({ mesh: 'bench' })] });
  const meshB = mesh({ transports: [broadcastChannel({ mesh: 'bench' })] });
  const a = createHappen({ id: 'bench-a', extensions: [meshA] });
  const b = createHappen({ id: 'bench-b', extensions: [meshB] });
  b.createNode('echo').on('ping', (event) => event.payload);
  const ui = a.createNode('ui');
  await meshA.waitForNode('echo', { timeout: 5_000 });
  await meshB.waitForNode('ui', { timeout: 5_000 });
  return {
    name: 'happen send→return over BroadcastChannel',
    async run(ops) {
      for (let i = 0; i < ops; i++) await ui.send('echo', { type: 'ping', payload: i }).return();
    },
    close: async () => {
      await meshA.close();
      await meshB.close();
    },
  };
}

// One request's frame as msgpack bytes, the same data as the hub benchmark's bare relay moves. Happen
// posts the frame as a value (`format: 'clone'`) for the channel to serialize; the bytes stay the
// baseline, since posting them costs the channel no more than the object (12.1 vs 12.9 µs, hot).
function sampleFrame(): Uint8Array {
  const id = '0mwt2bench0000000000001';
  const event = { id, type: 'ping', payload: 1, context: { causal: { id, sender: 'ui', correlationId: id, path: ['ui'], timestamp: Date.now() }, target: 'echo' } };
  return (encodeFrame({ v: 1, t: 'event', from: 'bench-a', event }) as Uint8Array).slice();
}

function rawRoundTrip(): Contender & { close(): void } {
  const left = new BroadcastChannel('raw-bench');
  const right = new BroadcastChannel('raw-bench');
  const frame = sampleFrame();
  right.onmessage = (e) => right.postMessage(e.data);
  let pending: (() => void) | undefined;
  let received = 0;
  // The reply is read, as any receiver must (a message's data is deserialized when first read).
  left.onmessage = (e) => {
    received += (e.data as Uint8Array).byteLength;
    pending?.();
  };
  return {
    name: 'raw BroadcastChannel ping-pong of the same bytes',
    async run(ops) {
      const before = received;
      for (let i = 0; i < ops; i++) await new Promise<void>((resolve) => ((pending = resolve), left.postMessage(frame)));
      if (received - before !== ops * frame.byteLength) throw new Error('the raw ping-pong lost or changed replies');
    },
    close: () => {
      left.close();
      right.close();
    },
  };
}

(globalThis as { runBusBench?: () => Promise<ScenarioResult[]> }).runBusBench = async () => {
  const happen = await happenRoundTrip();
  const raw = rawRoundTrip();
  try {
    return [
      await runScenario({
        name: 'round trip over BroadcastChannel (latency per round trip)',
        ops: 200,
        rounds: 41,
        happen,
        baselines: [raw],
        targets: [{ baseline: raw.name, maxRatio: 1.3 }],
      }),
    ];
  } finally {
    await happen.close();
    raw.close();
  }
};
