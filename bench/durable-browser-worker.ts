/**
 * The receiving side of the durable-emit benchmark, in a dedicated worker as it is in an app (a tab
 * emitting to a worker or another tab): one receiver system per sender, durable on IndexedDB or plain.
 * The page asks `{ mesh, count }` and is answered once that mesh's sink has handled that many events.
 */
import { createHappen } from '../src/index.ts';
import { mesh } from '../src/mesh/index.ts';
import { indexedDbStorage } from '../src/storage/indexeddb.ts';
import { broadcastChannel } from '../src/transports/broadcast-channel.ts';

const heard = new Map<string, number>();
const waiting = new Map<string, number>();

for (const [name, durable] of [['bench-durable', true], ['bench-plain', false], ['bench-unbatched', false]] as const) {
  const receiver = mesh({ transports: [broadcastChannel({ mesh: name })], ...(durable ? { durable: { storage: indexedDbStorage(`${name}-in`) } } : {}) });
  heard.set(name, 0);
  createHappen({ id: `${name}-b`, extensions: [receiver] })
    .createNode('sink')
    .on('tick', () => {
      const count = heard.get(name)! + 1;
      heard.set(name, count);
      if (waiting.get(name) === count) {
        waiting.delete(name);
        postMessage({ mesh: name, count });
      }
    });
}

onmessage = ({ data }: MessageEvent<{ mesh: string; count: number }>) => {
  if (heard.get(data.mesh)! >= data.count) postMessage(data);
  else waiting.set(data.mesh, data.count);
};
postMessage('ready');
