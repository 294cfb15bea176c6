import mitt from 'mitt';
import { createHappen } from '../src/index.ts';
import type { Scenario } from './harness.ts';

const BURST = 1000;

// Local dispatch: Happen (full causal context, causal web, async delivery) vs mitt and EventTarget.
function broadcastScenario(subscribers: number): Scenario {
  const happen = createHappen();
  let sink = 0;
  for (let i = 0; i < subscribers; i++) happen.createNode(`sub${i}`).on('bench.tick', (e) => void (sink += e.payload));
  const source = happen.createNode('source');

  const emitter = mitt<{ 'bench.tick': number }>();
  for (let i = 0; i < subscribers; i++) emitter.on('bench.tick', (n) => void (sink += n));

  const target = new EventTarget();
  for (let i = 0; i < subscribers; i++) target.addEventListener('bench.tick', (e) => void (sink += (e as CustomEvent<number>).detail));

  return {
    name: `broadcast to ${subscribers} subscriber${subscribers > 1 ? 's' : ''}`,
    ops: 100_000,
    targets: [
      { baseline: 'mitt', maxRatio: 3 },
      { baseline: 'EventTarget', maxRatio: 1 },
    ],
    happen: {
      name: 'happen',
      // Bursts of 1,000 emits, then wait for delivery: an app's event bursts, not one giant queue.
      async run(ops) {
        for (let done = 0; done < ops; done += BURST) {
          for (let i = 0; i < BURST; i++) source.broadcast({ type: 'bench.tick', payload: 1 });
          await happen.settled();
        }
      },
    },
    baselines: [
      { name: 'mitt', run: (ops) => { for (let i = 0; i < ops; i++) emitter.emit('bench.tick', 1); } },
      { name: 'EventTarget', run: (ops) => { for (let i = 0; i < ops; i++) target.dispatchEvent(new CustomEvent('bench.tick', { detail: 1 })); } },
    ],
  };
}

function roundTripScenario(): Scenario {
  const happen = createHappen();
  happen.createNode('calc').on('calc.add', (e) => e.payload.a + e.payload.b);
  const ui = happen.createNode('ui');
  const add = async (p: { a: number; b: number }) => p.a + p.b;
  return {
    name: 'send → return round trip',
    ops: 20_000,
    happen: {
      name: 'happen',
      async run(ops) {
        for (let i = 0; i < ops; i++) await ui.send('calc', { type: 'calc.add', payload: { a: i, b: 1 } }).return();
      },
    },
    baselines: [
      {
        name: 'direct async call',
        async run(ops) {
          for (let i = 0; i < ops; i++) await add({ a: i, b: 1 });
        },
      },
    ],
  };
}

/** The dispatch scenarios, built one at a time so each starts from a fresh system. */
export const dispatchScenarios: Array<() => Scenario> = [() => broadcastScenario(1), () => broadcastScenario(10), roundTripScenario];
