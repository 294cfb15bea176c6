import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { HubDurableObject, hubWorker, type CloudflareWebSocket, type HubDurableObjectState } from '../../src/hub/cloudflare.ts';
import { decodeFrame } from '../../src/transports/codec.ts';
import type { Frame } from '../../src/transports/frames.ts';
import { encode, event, eventFrame, presence } from './hub/helpers.ts';

const root = join(import.meta.dirname, '..', '..');

/** A stand-in for a hibernatable workerd socket: records frames, keeps its attachment. */
function fakeSocket() {
  let attachment: unknown = null;
  const socket = {
    sent: [] as Frame[],
    send: (data: string | ArrayBuffer | ArrayBufferView) => socket.sent.push(decodeFrame(data)),
    close: () => {},
    serializeAttachment: (value: unknown) => (attachment = structuredClone(value)),
    deserializeAttachment: () => attachment,
  };
  return socket satisfies CloudflareWebSocket;
}

// A Map standing in for ctx.storage: enough for the hub's durable log (real DO storage is tested in workerd).
function fakeStorage() {
  const data = new Map<string, unknown>();
  const txn = {
    get: async (key: string) => data.get(key),
    put: async (entries: Record<string, unknown>) => void Object.entries(entries).forEach(([k, v]) => data.set(k, v)),
    delete: async (keys: string[]) => keys.filter((k) => data.delete(k)).length,
  };
  return {
    get: async (key: string) => data.get(key),
    put: async (key: string, value: unknown) => void data.set(key, value),
    delete: async (key: string) => data.delete(key),
    list: async ({ prefix = '', start = '', end = '\uffff', reverse = false, limit = Infinity }: { prefix?: string; start?: string; end?: string; reverse?: boolean; limit?: number }) => {
      const keys = [...data.keys()].filter((k) => k.startsWith(prefix) && k >= start && k < end).sort();
      return new Map((reverse ? keys.reverse() : keys).slice(0, limit).map((k) => [k, data.get(k)]));
    },
    transaction: async <T>(closure: (t: typeof txn) => Promise<T>) => closure(txn),
    setAlarm: () => {},
    getAlarm: async () => null,
  };
}

function fakeState(sockets: CloudflareWebSocket[]): HubDurableObjectState {
  return { acceptWebSocket: (ws) => sockets.push(ws), getWebSockets: () => sockets, storage: fakeStorage() };
}

describe('[node] hub on Cloudflare', () => {
  test('after hibernation a new object rebuilds its peers from the socket attachments and routes again', () => {
    const a = fakeSocket();
    const b = fakeSocket();
    // What the object saved before it hibernated: each socket's relay state, in its attachment.
    a.serializeAttachment({ mesh: 'shop', state: { system: 'sys-a', nodes: ['alice'], lastSeen: 0, interval: 1000, format: 'msgpack' } });
    b.serializeAttachment({ mesh: 'shop', state: { system: 'sys-b', nodes: ['bob'], lastSeen: 0, interval: 1000, format: 'json' } });
    const woken = new HubDurableObject(fakeState([a, b]));
    const e = event('alice', 'order.place', { id: 1 }, 'bob');
    woken.webSocketMessage(a, (encode(eventFrame('sys-a', e)) as Uint8Array).slice().buffer);
    expect(b.sent).toMatchObject([{ t: 'event', event: { id: e.id } }]);
    woken.webSocketMessage(b, encode(presence('sys-b', ['bob', 'bea']), 'json') as string);
    expect((b.deserializeAttachment() as { state: { nodes: string[] } }).state.nodes).toEqual(['bob', 'bea']);
    expect(a.sent).toEqual([presence('sys-b', ['bob', 'bea'])]);
    woken.webSocketClose(b, 1000, 'bye');
    expect(a.sent.at(-1)).toEqual({ v: 1, t: 'bye', system: 'sys-b' });
  });

  test('the Worker sends /mesh/<name>/* to the Durable Object named after the mesh', async () => {
    const asked: string[] = [];
    const env = { HUB: { idFromName: (name: string) => name, get: (id: unknown) => ({ fetch: async () => (asked.push(id as string), new Response('from the object')) }) } };
    expect(await (await hubWorker.fetch(new Request('http://hub/mesh/shop/ws'), env)).text()).toBe('from the object');
    expect(asked).toEqual(['shop']);
    expect(await (await hubWorker.fetch(new Request('http://hub/health'), env)).json()).toEqual({ ok: true });
    expect((await hubWorker.fetch(new Request('http://hub/elsewhere'), env)).status).toBe(404);
  });

  test('wrangler accepts examples/cloudflare (deploy --dry-run) with the Durable Object binding', async () => {
    const out = await mkdtemp(join(tmpdir(), 'happen-wrangler-'));
    try {
      const { stdout } = await promisify(execFile)(join(root, 'node_modules', '.bin', 'wrangler'), ['deploy', '--dry-run', '--outdir', out, '-c', join(root, 'examples', 'cloudflare', 'wrangler.toml')], {
        cwd: root,
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1', NO_COLOR: '1' },
      });
      expect(stdout).toMatch(/env\.HUB \(HubDurableObject\)\s+Durable Object/);
      const bundle = await readFile(join(out, 'worker.js'), 'utf8');
      expect(bundle).toMatch(/HubDurableObject = class/);
      expect(bundle).not.toMatch(/from\s*["']node:/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 60_000);
});
