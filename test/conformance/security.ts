import { createHappen, ERROR_EVENT, type HappenEvent } from '../../src/index.ts';
import { hasWebCryptoEd25519 } from '../../src/platform/index.ts';
import {
  Acl,
  canonicalJson,
  createAdmissionToken,
  exportIdentity,
  generateIdentity,
  identityFromSeed,
  importIdentity,
  ReplayGuard,
  security,
  signEvent,
  signingText,
  toBase64Url,
  verifyAdmissionToken,
  verifyEvent,
  backendNamed,
  type Ed25519BackendName,
  type SecurityConfig,
} from '../../src/security/index.ts';
import { deepEqual, equal, isHappenError, ok, rejects, throws } from './assert.ts';
import { describe, test } from './harness.ts';

// Golden vectors: Ed25519 is deterministic, so an event signed in any runtime with this seed carries
// exactly this signature — equality here is what proves that every runtime signs and verifies alike.
const SEED = Uint8Array.from({ length: 32 }, (_, i) => i);
const GOLDEN_PUBLIC_KEY = 'A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg';
const GOLDEN_SIGNATURE =
  'A6EHv_POEL4dcN0Y50vAmQ.pZl7xKOjN8Q-N0ZYs78sLaAu01dVsB4u8zSfwtaox-rf-8eMmCJjo-OiOg_8SRiqwMxw7CLCtlx8w1XkFqF5Bw';
const GOLDEN_TEXT =
  'happen-sig-v1\n{"causal":{"correlationId":"0mjuq0e8000000000000000","id":"0mjuq0e8000000000000000","path":["orders"],"sender":"orders","timestamp":1767225600000},"id":"0mjuq0e8000000000000000","payload":{"note":"é☃\\n\\"q\\"","price":0.1,"qty":2,"sku":"A-1","tags":["x","y"],"when":null},"type":"order.created"}';

function goldenEvent(): HappenEvent {
  const id = '0mjuq0e8000000000000000';
  return {
    id,
    type: 'order.created',
    payload: { sku: 'A-1', qty: 2, tags: ['x', 'y'], when: null, note: 'é☃\n"q"', price: 0.1 },
    context: { causal: { id, sender: 'orders', correlationId: id, path: ['orders'], timestamp: 1767225600000 } },
  };
}

async function backends(): Promise<Ed25519BackendName[]> {
  return (await hasWebCryptoEd25519()) ? ['noble', 'webcrypto'] : ['noble'];
}

/** A sending system and a receiving one: events cross between them as copies, like over a transport. */
async function pair(receiver: SecurityConfig, sender: SecurityConfig = { level: 'medium' }) {
  const outSec = security(sender);
  const inSec = security(receiver);
  const from = createHappen({ id: 'from', extensions: [outSec] });
  const to = createHappen({ id: 'to', extensions: [inSec] });
  const orders = from.createNode('orders');
  const seen: HappenEvent[] = [];
  to.createNode('billing').on('order.*', (e) => void seen.push(e));
  inSec.trust('orders', (await outSec.identityOf('orders')).publicKey);
  const emit = async (payload: unknown = {}) => {
    const event = orders.broadcast({ type: 'order.created', payload });
    await from.settled();
    return structuredClone(event);
  };
  return { from, to, inSec, outSec, seen, emit };
}

describe('security', () => {
  test('canonical encoding: golden bytes, key order irrelevant, unsignable values refused', () => {
    equal(signingText(goldenEvent()), GOLDEN_TEXT);
    equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined }), '{"a":[true,null,"x"],"b":1}');
    equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
    equal(canonicalJson({ bytes: new Uint8Array([255, 0, 1]), at: new Date(0) }), '{"at":"1970-01-01T00:00:00.000Z","bytes":{"$bytes":"_wAB"}}');
    for (const bad of [NaN, Infinity, 10n, new Map(), () => 1, Symbol('s'), new (class Foo {})()]) {
      isHappenError(throws(() => canonicalJson({ bad })), 'validation', 'UNSIGNABLE');
    }
  });

  test('golden vectors: the same seed signs identically with every backend here', async () => {
    for (const backend of await backends()) {
      const identity = await identityFromSeed(SEED, { backend });
      equal(toBase64Url(identity.publicKey), GOLDEN_PUBLIC_KEY, `${backend} public key`);
      const event = goldenEvent();
      equal(await signEvent(event, identity), GOLDEN_SIGNATURE, `${backend} signature`);
    }
  });

  test('golden vectors: a signature made elsewhere verifies with every backend here', async () => {
    const publicKey = (await identityFromSeed(SEED, { backend: 'noble' })).publicKey;
    for (const backend of await backends()) {
      const event = { ...goldenEvent(), signature: GOLDEN_SIGNATURE };
      await verifyEvent(event, publicKey, backendNamed(backend));
      event.payload = { ...event.payload, qty: 3 };
      isHappenError(await rejects(verifyEvent(event, publicKey, backendNamed(backend))), 'security', 'INVALID_SIGNATURE');
    }
  });

  test('identities generate, export and import; non-extractable keys stay inside', async () => {
    for (const backend of await backends()) {
      const original = await generateIdentity({ backend, extractable: true });
      const copy = await importIdentity(exportIdentity(original), { backend });
      deepEqual([...copy.publicKey], [...original.publicKey]);
      const data = new Uint8Array([1, 2, 3]);
      deepEqual([...(await copy.sign(data))], [...(await original.sign(data))], 'deterministic signatures');
    }
    if (await hasWebCryptoEd25519()) {
      const locked = await generateIdentity({ backend: 'webcrypto' });
      equal(locked.extractable, false);
      isHappenError(throws(() => exportIdentity(locked)), 'security', 'NOT_EXTRACTABLE');
    }
  });

  test('malformed key material is a typed security error', async () => {
    isHappenError(await rejects(identityFromSeed(new Uint8Array(31))), 'security', 'INVALID_KEY');
    isHappenError(await rejects(importIdentity({ publicKey: 'x', secretKey: '!!!' })), 'security', 'INVALID_ENCODING');
    const other = exportIdentity(await generateIdentity({ extractable: true, backend: 'noble' }));
    const mine = exportIdentity(await generateIdentity({ extractable: true, backend: 'noble' }));
    isHappenError(await rejects(importIdentity({ publicKey: other.publicKey, secretKey: mine.secretKey })), 'security', 'INVALID_KEY');
    isHappenError(throws(() => security({ trust: { x: 'AAAA' } })), 'security', 'INVALID_KEY');
    isHappenError(throws(() => security({ trust: { x: 'not base64!' } })), 'security', 'INVALID_ENCODING');
    isHappenError(await rejects(verifyEvent({ ...goldenEvent(), signature: GOLDEN_SIGNATURE }, new Uint8Array(5), backendNamed('noble'))), 'security', 'INVALID_KEY');
  });

  test('a signed event crossing systems is delivered; tampering is refused', async () => {
    const { to, inSec, seen, emit } = await pair({ level: 'medium' });
    const good = await emit({ qty: 1 });
    ok(good.signature, 'signed on the way out');
    await to.ingest(good);
    const tampered = await emit({ qty: 1 });
    tampered.payload.qty = 1000;
    isHappenError(await rejects(to.ingest(tampered)), 'security', 'INVALID_SIGNATURE');
    const forged = await emit({ qty: 2 });
    forged.signature = forged.signature!.replace(/\.(.)/, (_m, c) => `.${c === 'A' ? 'B' : 'A'}`);
    isHappenError(await rejects(to.ingest(forged)), 'security', 'INVALID_SIGNATURE');
    const last = await emit({ qty: 3 });
    await to.ingest(last);
    await to.settled();
    deepEqual(seen.map((e) => e.payload.qty), [1, 3], 'legitimate traffic is unaffected');
    equal(inSec.stats().rejected.INVALID_SIGNATURE, 2);
    equal(to.events().filter((e) => e.type === ERROR_EVENT && e.payload.category === 'security').length, 2, 'each refusal is an error event');
  });

  test('wrong key, unknown sender, missing signature, replay and stale timestamps are refused', async () => {
    const { to, seen, emit, outSec } = await pair({ level: 'medium', replay: { maxSkewMs: 60_000 } });
    const impostor = await generateIdentity();
    const wrongKey = await emit();
    await signEvent(wrongKey, impostor);
    isHappenError(await rejects(to.ingest(wrongKey)), 'security', 'SENDER_KEY_MISMATCH');
    const unknown = await emit();
    unknown.context.causal.sender = 'stranger';
    isHappenError(await rejects(to.ingest(unknown)), 'security', 'UNKNOWN_SENDER');
    const unsigned = await emit();
    delete unsigned.signature;
    isHappenError(await rejects(to.ingest(unsigned)), 'security', 'MISSING_SIGNATURE');
    const once = await emit({ n: 1 });
    await to.ingest(structuredClone(once));
    isHappenError(await rejects(to.ingest(structuredClone(once))), 'security', 'REPLAYED');
    const stale = await emit({ n: 2 });
    stale.context.causal.timestamp -= 120_000;
    await signEvent(stale, await outSec.identityOf('orders')); // validly signed: only the time is wrong
    isHappenError(await rejects(to.ingest(stale)), 'security', 'STALE_TIMESTAMP');
    await to.settled();
    equal(seen.length, 1, 'only the one legitimate event was delivered');
  });

  test('malformed events from outside are validation errors and do not stop the system', async () => {
    const { to, seen, emit } = await pair({ level: 'medium' });
    for (const bad of [null, 'x', { id: 'a' }, { ...(await emit()), type: 'bad type' }]) {
      isHappenError(await rejects(to.ingest(bad)), 'validation', 'MALFORMED_EVENT');
    }
    await to.ingest(await emit());
    await to.settled();
    equal(seen.length, 1);
  });

  test('levels: none sends unsigned, low verifies only what it can, high requires signatures locally', async () => {
    const sec = security({ level: 'low', nodes: { quiet: { level: 'none' }, vault: { level: 'high' } } });
    const happen = createHappen({ extensions: [sec] });
    const quiet = happen.createNode('quiet');
    const loud = happen.createNode('loud');
    const vault = happen.createNode('vault');
    const got: string[] = [];
    vault.on('open', (e) => void got.push(e.context.causal.sender));
    const unsigned = quiet.send('vault', { type: 'open' });
    isHappenError(await rejects(unsigned.return()), 'security', 'MISSING_SIGNATURE');
    equal(unsigned.event.signature, undefined);
    await loud.send('vault', { type: 'open' }).return();
    ok(happen.events().find((e) => e.type === 'open' && e.context.causal.sender === 'loud')?.signature, 'low signs');
    deepEqual(got, ['loud']);
    equal(sec.levelOf('vault'), 'high');
    isHappenError(throws(() => security({ level: 'extreme' as never })), 'validation', 'INVALID_CONFIG');
    // The test ends once the system is idle: Deno's op sanitizer once caught async work still pending when it returned.
    await happen.settled();
  });

  test('at low, an unsigned event from an unknown sender is admitted', async () => {
    const happen = createHappen({ extensions: [security({ level: 'low' })] });
    const seen: string[] = [];
    happen.createNode('n').on('ping', (e) => void seen.push(e.id));
    const event = await foreignEvent();
    await happen.ingest(event);
    await happen.settled();
    deepEqual(seen, [event.id]);
  });

  test('the verification cache verifies a relayed event once', async () => {
    const { to, inSec, emit } = await pair({ level: 'low' });
    const event = await emit();
    await to.ingest(structuredClone(event));
    await to.ingest(structuredClone(event));
    await to.settled();
    equal(inSec.stats().verified, 1);
    equal(inSec.stats().cacheHits, 1);
    const tampered = structuredClone(event);
    tampered.payload = { evil: true };
    isHappenError(await rejects(to.ingest(tampered)), 'security', 'INVALID_SIGNATURE');
  });

  test('ACLs: sends are checked before they leave, broadcasts per receiving node, denials counted', async () => {
    const sec = security({
      level: 'none',
      acl: {
        roles: { staff: ['alice', 'bob'] },
        rules: [
          { from: 'role:staff', to: 'vault', types: 'vault.*' },
          { from: 'bob', to: 'vault', types: 'vault.open', effect: 'deny' },
          { from: '*', types: 'news.*' },
          { from: '*', to: 'archive', types: 'news.*', effect: 'deny' },
        ],
      },
    });
    const happen = createHappen({ extensions: [sec] });
    happen.createNode('vault').on('vault.*', () => 'ok');
    const archived: string[] = [];
    const read: string[] = [];
    happen.createNode('archive').on('news.*', (e) => void archived.push(e.type));
    happen.createNode('reader').on('news.*', (e) => void read.push(e.type));
    const alice = happen.createNode('alice');
    const bob = happen.createNode('bob');
    const eve = happen.createNode('eve');
    const errors: HappenEvent[] = [];
    eve.on(ERROR_EVENT, (e) => void errors.push(e));
    equal(await alice.send('vault', { type: 'vault.open' }).return(), 'ok');
    equal(await bob.send('vault', { type: 'vault.peek' }).return(), 'ok');
    isHappenError(await rejects(bob.send('vault', { type: 'vault.open' }).return()), 'security', 'ACL_DENIED');
    isHappenError(await rejects(eve.send('vault', { type: 'vault.peek' }).return()), 'security', 'ACL_DENIED');
    eve.broadcast({ type: 'news.flash' });
    await happen.settled();
    deepEqual(read, ['news.flash']);
    deepEqual(archived, [], 'denied for the archive only');
    equal(sec.stats().denied, 3);
    equal(errors.filter((e) => e.payload.code === 'ACL_DENIED').length, 2, 'eve hears about both of her denials');
  });

  test('Acl answers the hub-side question directly', () => {
    const acl = new Acl({ rules: [{ from: 'a', to: 'b', types: 'x.*' }], default: 'deny' });
    equal(acl.allows('a', 'x.y', 'b'), true);
    equal(acl.allows('a', 'x.y', 'c'), false);
    equal(acl.allows('c', 'happen.error', 'a'), true, 'system events always pass');
    equal(new Acl({ rules: [], default: 'allow' }).allows('any', 'thing', undefined), true);
    isHappenError(throws(() => acl.check('b', 'x.y', 'a')), 'security', 'ACL_DENIED');
  });

  test('replay guard: bounded memory, expiry by time, and a floor after eviction', () => {
    let now = 1_000_000;
    const guard = new ReplayGuard({ maxSkewMs: 1000, ttlMs: 2000, capacity: 3, now: () => now });
    const ev = (id: string, timestamp = now) => ({ id, type: 't', payload: 0, context: { causal: { id, sender: 's', correlationId: id, path: ['s'], timestamp } } });
    for (const id of ['a', 'b', 'c']) guard.check(ev(id));
    isHappenError(throws(() => guard.check(ev('b'))), 'security', 'REPLAYED');
    now += 10;
    guard.check(ev('d'));
    equal(guard.size, 3, 'capped');
    isHappenError(throws(() => guard.check(ev('old', now - 20))), 'security', 'STALE_TIMESTAMP');
    now += 2500;
    guard.check(ev('e'));
    equal(guard.size, 1, 'expired ids are forgotten');
    isHappenError(throws(() => guard.check(ev('future', now + 5000))), 'security', 'STALE_TIMESTAMP');
  });

  test('admission tokens: valid, expired, tampered, wrong secret, wrong mesh, malformed', async () => {
    const secret = 'a-long-enough-hub-secret';
    const token = await createAdmissionToken(secret, { sub: 'tab-1', mesh: 'shop', scopes: ['emit'], ttlMs: 60_000, now: 1000 });
    const claims = await verifyAdmissionToken(secret, token, { now: 2000, mesh: 'shop' });
    deepEqual([claims.sub, claims.mesh, claims.scopes, claims.exp], ['tab-1', 'shop', ['emit'], 61_000]);
    isHappenError(await rejects(verifyAdmissionToken(secret, token, { now: 200_000 })), 'security', 'TOKEN_EXPIRED');
    isHappenError(await rejects(verifyAdmissionToken('another-secret-entirely', token, { now: 2000 })), 'security', 'BAD_TOKEN_SIGNATURE');
    isHappenError(await rejects(verifyAdmissionToken(secret, token, { now: 2000, mesh: 'other' })), 'security', 'WRONG_MESH');
    const [body, mac] = token.split('.');
    const forged = toBase64Url(new TextEncoder().encode(JSON.stringify({ sub: 'admin', iat: 1000, exp: 9e15 })));
    isHappenError(await rejects(verifyAdmissionToken(secret, `${forged}.${mac}`, { now: 2000 })), 'security', 'BAD_TOKEN_SIGNATURE');
    for (const bad of [undefined, '', 'abc', `${body}.${mac}.x`, `${body}.!!`]) {
      isHappenError(await rejects(verifyAdmissionToken(secret, bad, { now: 2000 })), 'security', 'MALFORMED_TOKEN');
    }
    isHappenError(await rejects(createAdmissionToken('short', { sub: 'x' })), 'security', 'INVALID_KEY');
  });
});

async function foreignEvent(): Promise<HappenEvent> {
  const other = createHappen({ id: 'elsewhere' });
  const event = other.createNode('foreign').broadcast({ type: 'ping' });
  await other.settled();
  return structuredClone(event);
}
