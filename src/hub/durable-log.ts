/**
 * The hub's durable log for durable delivery: every durable event frame it relays is kept, per
 * receiver system, until that receiver acks it, so a receiver that reconnects catches up on what it
 * missed, in stream order, even while its senders are offline. Senders still resend until acked
 * (their outbox is the source of truth); receivers recognise repeats by stream position.
 */
import type { AckFrame, EventFrame } from '../transports/frames.ts';
import type { Storage } from '../storage/storage.ts';

/** Options for {@link hubLog}. */
export interface HubLogOptions {
  /** Key prefix, one per mesh (default `happen/hub/log/`). */
  prefix?: string;
  /** Frames kept per receiver at most; past it the oldest are dropped (senders still hold them). Default 100,000. */
  maxPerReceiver?: number;
}

/** What a relay asks of its log. Writes run in order in the background; a failure is reported, never thrown. */
export interface HubLog {
  /** A durable frame passed through (or could not be delivered): keep it until its receiver acks it. */
  keep(frame: EventFrame): void;
  /** A receiver answered: forget what it acked or gave up. */
  settle(frame: AckFrame): void;
  /** Everything kept for `system`, in stream order per sender. */
  pending(system: string): Promise<EventFrame[]>;
}

const pad = (n: number) => n.toString().padStart(16, '0');

/** A log on any `Storage` (Durable Object storage on Cloudflare, Deno KV on Deno, memory on Node). */
export function hubLog(storage: Storage, options: HubLogOptions = {}, report: (error: unknown) => void = () => {}): HubLog {
  const prefix = options.prefix ?? 'happen/hub/log/';
  const max = options.maxPerReceiver ?? 100_000;
  const counts = new Map<string, number>();
  let tail: Promise<unknown> = Promise.resolve();
  // One write after another, so a frame's keep and its settle land in the order they happened.
  const run = (work: () => Promise<unknown>) => {
    tail = tail.then(work).catch(report);
  };
  const keyOf = (receiver: string, sender: string, seq: number) => `${prefix}${receiver}/${sender}/${pad(seq)}`;

  return {
    keep(frame) {
      const { to, seq } = frame.delivery!;
      run(async () => {
        await storage.put(keyOf(to, frame.from, seq), frame);
        const count = (counts.get(to) ?? 0) + 1;
        counts.set(to, count);
        if (count > max) await trim(to);
      });
    },
    settle(frame) {
      const done = frame.acks.filter((a) => a.status === 'ack' || a.status === 'term');
      if (done.length === 0) return;
      run(() => storage.batch(done.map((a) => ({ type: 'delete' as const, key: keyOf(frame.system, frame.to, a.seq) }))));
    },
    async pending(system) {
      await tail;
      const frames = (await storage.list<EventFrame>({ prefix: `${prefix}${system}/` })).map(([, frame]) => frame);
      counts.set(system, frames.length);
      return frames;
    },
  };

  // Beyond the cap the oldest frames go: their senders still hold them, so nothing acked is lost.
  async function trim(receiver: string): Promise<void> {
    const all = await storage.list({ prefix: `${prefix}${receiver}/` });
    const excess = all.length - max;
    if (excess <= 0) return;
    await storage.batch(all.slice(0, excess).map(([key]) => ({ type: 'delete' as const, key })));
    counts.set(receiver, max);
  }
}
