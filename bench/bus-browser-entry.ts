/**
 * A round trip over BroadcastChannel in a Chromium page: Happen's send→return between two meshed
 * systems against a raw ping-pong between two channels. Both cross the same channel machinery
 * (two BroadcastChannel objects of one name in one page), so the ratio is Happen's own overhead.
 */
import { createHappen } from '../src/index.ts';
import { mesh } from '../src/mesh/index.ts';
import { broadcastChannel } from '../src/transports/broadcast-channel.ts';
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

function rawRoundTrip(): Contender & { close(): void } {
  const left = new BroadcastChannel('raw-bench');
  const right = new BroadcastChannel('raw-bench');
  right.onmessage = (e) => right.postMessage(e.data);
  let pending: (() => void) | undefined;
  left.onmessage = () => pending?.();
  return {
    name: 'raw BroadcastChannel ping-pong',
    async run(ops) {
      for (let i = 0; i < ops; i++) await new Promise<void>((resolve) => ((pending = resolve), left.postMessage({ i })));
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
        rounds: 11,
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
