import { describe, expect, test } from 'vitest';
import { createAdmissionToken, verifyAdmissionToken } from '../../src/security/tokens.ts';
import { CLOSE_LAPSED, CLOSE_REFUSED, createRelay } from '../../src/hub/relay.ts';
import { asMap, bye, encode, event, eventFrame, presence, recordingPeer } from './hub/helpers.ts';

const SECRET = 'a-test-secret-of-32-characters!!';

function meshOfThree() {
  const relay = createRelay();
  const [a, b, c] = [recordingPeer(), recordingPeer(), recordingPeer()];
  for (const [peer, system, nodes] of [[a, 'sys-a', ['alice']], [b, 'sys-b', ['bob']], [c, 'sys-c', ['carol', 'cid']]] as const) {
    relay.join(peer, { format: 'msgpack' });
    relay.receive(peer, encode(presence(system, [...nodes])));
  }
  for (const p of [a, b, c]) p.frames.length = 0, p.raw.length = 0;
  return { relay, a, b, c };
}

describe('[node] hub relay', () => {
  test('presence is relayed to the others, and a newcomer gets the latest presence of every other peer', () => {
    const relay = createRelay();
    const a = recordingPeer();
    const b = recordingPeer();
    relay.join(a, { format: 'msgpack' });
    relay.receive(a, encode(presence('sys-a', ['alice'])));
    relay.receive(a, encode(presence('sys-a', ['alice', 'ann'])));
    relay.join(b, { format: 'msgpack' });
    expect(b.frames).toEqual([presence('sys-a', ['alice', 'ann'])]);
    relay.receive(b, encode(presence('sys-b', ['bob'])));
    expect(a.frames).toEqual([presence('sys-b', ['bob'])]);
    expect(relay.stats()).toEqual({ peers: 2, nodes: 3 });
  });

  test('a broadcast reaches every other peer, forwarded byte for byte', () => {
    const { relay, a, b, c } = meshOfThree();
    const data = encode(eventFrame('sys-a', event('alice', 'news.flash', { n: 1 })));
    expect(relay.receive(a, data)).toBeUndefined();
    expect(a.frames).toEqual([]);
    expect(b.raw).toEqual([data]);
    expect(c.raw).toEqual([data]);
  });

  test('event frames written as maps (an older peer) are routed too, forwarded byte for byte', () => {
    const { relay, a, b, c } = meshOfThree();
    const news = asMap(eventFrame('sys-a', event('alice', 'news.flash', { n: 1 })));
    const order = event('alice', 'order.place', { id: 7 }, 'cid');
    const send = asMap(eventFrame('sys-a', order));
    expect(news[0]).toBe(0xde); // a map (msgpackr writes map16), not the compact array
    relay.receive(a, news);
    relay.receive(a, send);
    expect(b.raw).toEqual([news]);
    expect(c.raw).toEqual([news, send]);
    expect(c.events().at(-1)).toEqual(order);
  });

  test('a send reaches only the peer hosting its target', () => {
    const { relay, a, b, c } = meshOfThree();
    const e = event('alice', 'order.place', { id: 7 }, 'cid');
    relay.receive(a, encode(eventFrame('sys-a', e)));
    expect(c.events()).toEqual([e]);
    expect(a.frames).toEqual([]);
    expect(b.frames).toEqual([]);
  });

  test('a send to a node nobody hosts is answered with happen.error and a failed happen.reply, causally linked', () => {
    const { relay, a, b } = meshOfThree();
    const request = event('alice', 'order.place', { id: 7 }, 'nobody');
    relay.receive(a, encode(eventFrame('sys-a', request)));
    expect(b.frames).toEqual([]);
    const [error, reply] = a.events();
    expect(a.frames.every((f) => f.t === 'event' && f.from === 'hub')).toBe(true);
    expect(error!.type).toBe('happen.error');
    expect(error!.payload).toMatchObject({ category: 'runtime', code: 'NO_SUCH_NODE', eventId: request.id });
    expect(reply!.type).toBe('happen.reply');
    expect(reply!.payload).toMatchObject({ ok: false, error: { category: 'runtime', code: 'NO_SUCH_NODE' } });
    for (const answer of [error!, reply!]) {
      expect(answer.context.target).toBe('alice');
      expect(answer.context.causal).toMatchObject({ sender: 'hub', causationId: request.id, correlationId: request.context.causal.correlationId, path: ['alice', 'hub'] });
    }
    expect(error!.id).not.toBe(reply!.id);
  });

  test('a reply or error to a node that left is dropped, not answered (no loops)', () => {
    const { relay, a, b, c } = meshOfThree();
    relay.receive(a, encode(eventFrame('sys-a', event('alice', 'happen.reply', { ok: true }, 'gone'))));
    relay.receive(a, encode(eventFrame('sys-a', event('alice', 'happen.error', { code: 'X' }, 'gone'))));
    expect([...a.frames, ...b.frames, ...c.frames]).toEqual([]);
  });

  test('answers each peer in the format it speaks: JSON to a text peer, msgpack to a binary one', () => {
    const relay = createRelay();
    const a = recordingPeer();
    const b = recordingPeer();
    relay.join(a, { format: 'msgpack' });
    relay.join(b, { format: 'msgpack' });
    relay.receive(b, encode(presence('sys-b', ['bob']), 'json')); // b speaks JSON from now on
    relay.receive(a, encode(presence('sys-a', ['alice'])));
    const e = event('alice', 'x.y', { bytes: 1 }, 'bob');
    relay.receive(a, encode(eventFrame('sys-a', e)));
    expect(typeof b.raw.at(-1)).toBe('string');
    expect(b.events()).toEqual([e]);
    relay.receive(b, encode(eventFrame('sys-b', event('bob', 'x.z', {}, 'nobody')), 'json'));
    expect(b.raw.slice(-2).every((d) => typeof d === 'string')).toBe(true);
    expect(a.raw.every((d) => d instanceof Uint8Array)).toBe(true);
  });

  test('bye is relayed and forgets the nodes; closing the connection is a bye too', () => {
    const { relay, a, b, c } = meshOfThree();
    relay.receive(b, encode(bye('sys-b')));
    expect(a.frames).toEqual([bye('sys-b')]);
    relay.receive(a, encode(eventFrame('sys-a', event('alice', 't.t', {}, 'bob'))));
    expect(a.events().map((e) => e.type)).toEqual(['happen.error', 'happen.reply']);
    relay.leave(c);
    expect(a.frames.at(-1)).toEqual(bye('sys-c'));
    expect(relay.stats()).toEqual({ peers: 2, nodes: 1 });
  });

  test('a reconnect that overtakes the old socket takes over its nodes, and the old socket closing says no bye', () => {
    const { relay, a, b } = meshOfThree();
    const b2 = recordingPeer();
    relay.join(b2, { format: 'msgpack' });
    relay.receive(b2, encode(presence('sys-b', ['bob'])));
    relay.leave(b);
    expect(a.frames).toEqual([presence('sys-b', ['bob'])]);
    const e = event('alice', 'q.q', {}, 'bob');
    relay.receive(a, encode(eventFrame('sys-a', e)));
    expect(b2.events()).toEqual([e]);
  });

  test('sweep drops peers silent for 3 × their interval, closes them and says bye', () => {
    let now = 1_000_000;
    const relay = createRelay({ now: () => now });
    const a = recordingPeer();
    const b = recordingPeer();
    relay.join(a, { format: 'msgpack' });
    relay.join(b, { format: 'msgpack' });
    relay.receive(a, encode(presence('sys-a', ['alice'], 100)));
    relay.receive(b, encode(presence('sys-b', ['bob'], 1000)));
    now += 250;
    relay.receive(a, encode(presence('sys-a', ['alice'], 100))); // a's heartbeat
    now += 250;
    expect(relay.sweep()).toBe(0);
    now += 100;
    expect(relay.sweep()).toBe(1); // a's last heartbeat is 350 ms old (> 300); b is within its 3 s
    expect(a.closed).toEqual({ code: CLOSE_LAPSED, reason: 'heartbeat lapsed' });
    expect(b.frames.at(-1)).toEqual(bye('sys-a'));
    now += 3000;
    expect(relay.sweep()).toBe(1);
    expect(relay.stats()).toEqual({ peers: 0, nodes: 0 });
  });

  test('malformed, oversized and wrong-version frames get an error frame and the connection keeps working', () => {
    const relay = createRelay({ maxFrameBytes: 4096 });
    const a = recordingPeer();
    const b = recordingPeer();
    relay.join(a, { format: 'msgpack' });
    relay.join(b, { format: 'msgpack' });
    relay.receive(b, encode(presence('sys-b', ['bob'])));
    a.frames.length = 0;
    const bad: Array<[unknown, string]> = [
      ['{not json', 'MALFORMED_FRAME'],
      [new Uint8Array([0xc1, 0xc1]), 'MALFORMED_FRAME'],
      [JSON.stringify({ v: 1, t: 'event', from: 'sys-a', event: { id: 'x' } }), 'MALFORMED_EVENT'],
      [JSON.stringify({ v: 2, t: 'presence', system: 'sys-a', nodes: [], interval: 1 }), 'UNSUPPORTED_VERSION'],
      [encode(eventFrame('sys-a', event('alice', 'big.one', 'x'.repeat(5000), 'bob'))), 'FRAME_TOO_LARGE'],
    ];
    for (const [data, code] of bad) {
      const refused = relay.receive(a, data as string);
      expect(refused?.code).toBe(code);
      const frame = a.frames.at(-1)!;
      expect(frame.t).toBe('error');
      expect(frame.t === 'error' && frame.error).toMatchObject({ category: 'validation', code });
    }
    expect(a.closed).toBeUndefined();
    expect(b.frames).toEqual([]);
    const e = event('alice', 'still.works', {}, 'bob');
    relay.receive(a, encode(eventFrame('sys-a', e)));
    expect(b.events()).toEqual([e]);
  });

  describe('admission tokens', () => {
    test('a peer with a valid token whose sub matches its system is admitted', async () => {
      const relay = createRelay({ requireClaims: true });
      const claims = await verifyAdmissionToken(SECRET, await createAdmissionToken(SECRET, { sub: 'sys-a', mesh: 'm' }), { mesh: 'm' });
      const a = recordingPeer();
      const b = recordingPeer();
      relay.join(a, { format: 'msgpack', claims });
      relay.join(b, { format: 'msgpack', claims: { ...claims, sub: 'sys-b' } });
      relay.receive(a, encode(presence('sys-a', ['alice'])));
      expect(b.frames).toEqual([presence('sys-a', ['alice'])]);
      expect(a.closed).toBeUndefined();
    });

    test('a peer without claims is refused with a security error frame and closed', () => {
      const relay = createRelay({ requireClaims: true });
      const a = recordingPeer();
      relay.join(a, { format: 'json' });
      expect(typeof a.raw[0]).toBe('string');
      expect(a.frames).toMatchObject([{ t: 'error', error: { category: 'security', code: 'TOKEN_REQUIRED' } }]);
      expect(a.closed?.code).toBe(CLOSE_REFUSED);
      expect(relay.stats().peers).toBe(0);
    });

    test('a presence (or event) for another system than the token names is refused and closed', async () => {
      const relay = createRelay({ requireClaims: true });
      const claims = await verifyAdmissionToken(SECRET, await createAdmissionToken(SECRET, { sub: 'sys-a' }));
      const a = recordingPeer();
      const b = recordingPeer();
      relay.join(b, { format: 'msgpack', claims: { ...claims, sub: 'sys-b' } });
      relay.join(a, { format: 'msgpack', claims });
      expect(relay.receive(a, encode(presence('sys-evil', ['alice'])))?.code).toBe('WRONG_SUBJECT');
      expect(a.frames.at(-1)).toMatchObject({ t: 'error', error: { category: 'security', code: 'WRONG_SUBJECT' } });
      expect(a.closed?.code).toBe(CLOSE_REFUSED);
      expect(b.frames).toEqual([]);
      const c = recordingPeer();
      relay.join(c, { format: 'msgpack', claims });
      relay.receive(c, encode(eventFrame('sys-evil', event('x', 'a.b', {}))));
      expect(c.closed?.code).toBe(CLOSE_REFUSED);
      expect(b.frames).toEqual([]);
    });

  });

  test('restore() re-attaches a saved peer without replaying presence, and it routes again', () => {
    const relay = createRelay();
    const a = recordingPeer();
    const b = recordingPeer();
    relay.restore(a, { system: 'sys-a', nodes: ['alice'], lastSeen: 0, interval: 1000, format: 'json' });
    relay.restore(b, { system: 'sys-b', nodes: ['bob'], lastSeen: 0, interval: 1000, format: 'msgpack' });
    expect(a.frames).toEqual([]);
    expect(relay.sweep()).toBe(0); // a stale lastSeen does not sweep a socket that just woke up
    const e = event('bob', 'p.q', {}, 'alice');
    relay.receive(b, encode(eventFrame('sys-b', e)));
    expect(typeof a.raw[0]).toBe('string');
    expect(a.events()).toEqual([e]);
  });
});
