import { HappenError } from './errors.ts';
import type { HappenEvent } from './event.ts';
import type { SendHandle } from './send-handle.ts';

// Beyond this the oldest pending sends are forgotten (their `.return()` times out).
const MAX_REMOTE_SENDS = 10_000;

/** Sends a router carried to other systems, by event id, until their reply event comes back. */
export class RemoteSends {
  #pending = new Map<string, SendHandle>();

  /** Remembers a send until its reply arrives or its `.return()` times out. */
  track(handle: SendHandle): void {
    const id = handle.event.id;
    if (this.#pending.size >= MAX_REMOTE_SENDS) this.#pending.delete(this.#pending.keys().next().value!);
    this.#pending.set(id, handle);
    handle.onDone = () => this.#pending.delete(id);
  }

  /** A reply from another system: settles the send it answers (its `causationId`), if still pending. */
  replied(reply: HappenEvent): void {
    const requestId = reply.context.causal.causationId;
    const handle = requestId === undefined ? undefined : this.#pending.get(requestId);
    if (handle === undefined) return;
    const payload = reply.payload as { ok?: unknown; value?: unknown; error?: unknown } | null;
    handle.settle(payload?.ok === true ? { ok: true, value: payload.value } : { ok: false, error: HappenError.from(payload?.error) });
  }
}
