import type { HappenEvent } from '../src/index.ts';
import { generateIdentity, nobleBackend, signEvent, signingBytes, VerificationCache, webCryptoBackend, type Identity } from '../src/security/index.ts';
import type { Scenario } from './harness.ts';

// Signing and verification: the primitives per backend, what signing an event adds on top of the raw
// primitive, and what the verification cache saves.
const payload = { order: 'o-1042', items: [{ sku: 'A-1', qty: 2 }, { sku: 'B-7', qty: 1 }], note: 'leave at the door' };

function sampleEvent(i: number): HappenEvent {
  const id = `0mwt2bench${String(i).padStart(13, '0')}`;
  return { id, type: 'order.created', payload, context: { causal: { id, sender: 'shop', correlationId: id, path: ['shop'], timestamp: 1_767_225_600_000 + i } } };
}

async function identities() {
  return { web: await generateIdentity({ backend: 'webcrypto' }), noble: await generateIdentity({ backend: 'noble' }) };
}

const loop = (fn: (i: number) => Promise<unknown>) => async (ops: number) => {
  for (let i = 0; i < ops; i++) await fn(i);
};

function signScenario(ids: { web: Identity; noble: Identity }): Scenario {
  const bytes = signingBytes(sampleEvent(0));
  return {
    name: 'Ed25519 sign: Web Crypto vs noble',
    ops: 300,
    happen: { name: 'webcrypto sign', run: loop(() => ids.web.sign(bytes)) },
    baselines: [{ name: 'noble sign', run: loop(() => ids.noble.sign(bytes)) }],
  };
}

function verifyScenario(ids: { web: Identity; noble: Identity }, signature: Uint8Array): Scenario {
  const bytes = signingBytes(sampleEvent(0));
  return {
    name: 'Ed25519 verify: Web Crypto vs noble',
    ops: 300,
    happen: { name: 'webcrypto verify', run: loop(() => webCryptoBackend.verify(ids.web.publicKey, signature, bytes)) },
    baselines: [{ name: 'noble verify', run: loop(() => nobleBackend.verify(ids.web.publicKey, signature, bytes)) }],
  };
}

function overheadScenario(identity: Identity): Scenario {
  const bytes = signingBytes(sampleEvent(0));
  return {
    name: 'signing an event (canonical encoding + sign) vs the raw primitive',
    ops: 300,
    targets: [{ baseline: 'raw sign', maxRatio: 1.2 }],
    happen: { name: 'signEvent', run: loop((i) => signEvent(sampleEvent(i), identity)) },
    baselines: [{ name: 'raw sign', run: loop(() => identity.sign(bytes)) }],
  };
}

async function cacheScenario(identity: Identity): Promise<Scenario> {
  const event = sampleEvent(0);
  await signEvent(event, identity);
  const copy = structuredClone(event);
  const cache = new VerificationCache();
  cache.add(event);
  const signature = new Uint8Array(64);
  const bytes = signingBytes(event);
  signature.set((await identity.sign(bytes)).subarray(0, 64));
  let hits = 0;
  return {
    name: 'verification cache hit (a decoded copy: content compared) vs a raw verify',
    ops: 300,
    targets: [{ baseline: 'raw verify', maxRatio: 1 / 50 }],
    happen: {
      name: 'cache hit',
      async run(ops) {
        for (let i = 0; i < ops; i++) if (cache.has(structuredCloneFree(copy))) hits++;
      },
    },
    baselines: [{ name: 'raw verify', run: loop(() => webCryptoBackend.verify(identity.publicKey, signature, bytes)) }],
  };
}

// A fresh object per lookup with the same content, as a relayed copy would be, without paying for a
// structuredClone inside the timed loop.
function structuredCloneFree(event: HappenEvent): HappenEvent {
  return { ...event, context: { ...event.context } };
}

/** The security scenarios (async: they generate keys first). */
export async function securityScenarios(): Promise<Array<() => Scenario>> {
  const ids = await identities();
  const signature = await ids.web.sign(signingBytes(sampleEvent(0)));
  const cache = await cacheScenario(ids.web);
  return [() => signScenario(ids), () => verifyScenario(ids, signature), () => overheadScenario(ids.web), () => cache];
}
