import { Packr } from 'msgpackr';
import type { HappenEvent } from '../src/index.ts';
import { decodeFrame, encodeFrame, type Frame } from '../src/transports/index.ts';
import type { Scenario } from './harness.ts';

// The wire codec: msgpack (the default, an event frame in its compact form) against JSON and against
// msgpack maps (how event frames went out before the compact form, and how any msgpack library writes
// them), for encoding, decoding (with the frame checks a receiver always runs) and size, on a typical
// event frame.
function sampleFrame(): Frame {
  const id = '0mwt2bench0000000000001';
  const event: HappenEvent = {
    id,
    type: 'order.created',
    payload: { order: 'o-1042', items: [{ sku: 'A-1', qty: 2, price: 19.5 }, { sku: 'B-7', qty: 1, price: 4.25 }], note: 'leave at the door' },
    context: { causal: { id, sender: 'shop', causationId: '0mwt2bench0000000000000', correlationId: '0mwt2bench0000000000000', path: ['ui', 'shop'], timestamp: 1_767_225_600_000 }, target: 'billing' },
    signature: 'A6EHv_POEL4dcN0Y50vAmQ.pZl7xKOjN8Q-N0ZYs78sLaAu01dVsB4u8zSfwtaox-rf-8eMmCJjo-OiOg_8SRiqwMxw7CLCtlx8w1XkFqF5Bw',
  };
  return { v: 1, t: 'event', from: 'sys-a', event };
}

const frame = sampleFrame();
const packed = encodeFrame(frame, 'msgpack') as Uint8Array;
const text = encodeFrame(frame, 'json') as string;
const mapPackr = new Packr({ useRecords: false, moreTypes: false, structuredClone: false, mapsAsObjects: true });
const packedMaps = new Uint8Array(mapPackr.pack(frame));

/** Frame sizes in bytes, printed next to the timings. */
export const codecSizes = { msgpack: packed.byteLength, maps: packedMaps.byteLength, json: new TextEncoder().encode(text).byteLength };

const times = (fn: () => unknown) => (ops: number) => {
  for (let i = 0; i < ops; i++) fn();
};

/** msgpack vs JSON: encode and decode speed of one event frame. */
export const codecScenarios: Array<() => Scenario> = [
  () => ({
    name: 'encode an event frame: msgpack (compact) vs JSON and msgpack maps',
    ops: 20_000,
    happen: { name: 'msgpack encode', run: times(() => encodeFrame(frame, 'msgpack')) },
    baselines: [
      { name: 'JSON encode', run: times(() => encodeFrame(frame, 'json')) },
      { name: 'msgpack maps encode', run: times(() => mapPackr.pack(frame)) },
    ],
  }),
  () => ({
    name: 'decode + check an event frame: msgpack (compact) vs JSON and msgpack maps',
    ops: 20_000,
    happen: { name: 'msgpack decode', run: times(() => decodeFrame(packed)) },
    baselines: [
      { name: 'JSON decode', run: times(() => decodeFrame(text)) },
      { name: 'msgpack maps decode', run: times(() => decodeFrame(packedMaps)) },
    ],
  }),
];
