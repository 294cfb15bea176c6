import { HappenError, type SerializedError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';
import type { Storage } from '../storage/storage.ts';
import { PROTOCOL_VERSION, type AckFrame, type DeliveryAck, type EventFrame, type Frame } from '../transports/frames.ts';
import type { Transport } from '../transports/transport.ts';
import { DeadLetterStore, type DeadLetter, type DeadLetters } from './dead-letters.ts';
import { DurableReceiver, type ReceiverHost } from './durable-receiver.ts';
import { Inbox } from './inbox.ts';
import { Outbox, type OutboxEntry } from './outbox.ts';
import { retryDelay, type RetryOptions } from './retry.ts';

/** Durable, at-least-once delivery for a mesh: `mesh({ transports, durable: { storage } })`. */
export interface DurableOptions {
  /** Where the outbox, the inbox positions, the dedupe ids and the dead letters live. */
  storage: Storage;
  /** Key prefix within the storage (default `happen/mesh/`). */
  prefix?: string;
  /** A sent event not acked within this many ms is sent again (default 5,000). */
  ackTimeoutMs?: number;
  /** The backoff between attempts, for nacks and ack timeouts alike. */
  retry?: RetryOptions;
  /** Sends per receiver before the event is dead-lettered (default 8). */
  maxAttempts?: number;
  /** How long handled ids are remembered to drop redeliveries (default 24 h). */
  dedupeWindowMs?: number;
  /** How long an event may wait for any receiver to exist before it is dead-lettered (default 24 h). */
  maxAgeMs?: number;
  /** Events in flight (sent, not yet acked) per receiver system (default 256). */
  window?: number;
}

/** What the durable layer needs from its mesh: the receiver's needs, and routing for the sender. */
export interface DurableHost extends ReceiverHost {
  /** The system hosting a node, if known. */
  hostOf(node: string): string | undefined;
  /** The systems of the mesh known now. */
  peers(): string[];
  /** How to reach a system that is here now, if at all. */
  transportTo(system: string): Transport | undefined;
  /** An open hub link, whose hub keeps durable frames for receivers that are away. */
  hubLink(): Transport | undefined;
}

/** The outbox queue's depth and the age of its oldest event. */
export interface QueueStats {
  depth: number;
  oldestAgeMs: number;
}

const DEAD_LETTER = 'mesh.dead-letter';

/**
 * The durable layer. Sender: every event leaving the system is written to the outbox before its emit
 * resolves, then sent to each receiver system as a numbered stream until acked — resent after the ack
 * deadline or a nack on one backoff schedule, dead-lettered after `maxAttempts`. Receiver: each stream
 * is handed to the nodes in order, one event at a time, deduped by id; the ack is sent once the
 * handling is durable. Ordering: per sender, events reach each receiver system in emit order.
 */
export class Durability {
  readonly ready: Promise<void>;
  readonly deadLetters: DeadLetters;
  readonly #outbox: Outbox;
  readonly #receiver: DurableReceiver;
  readonly #dead: DeadLetterStore;
  readonly #ackTimeout: number;
  readonly #maxAttempts: number;
  readonly #maxAge: number;
  readonly #window: number;
  readonly #retry: RetryOptions;
  // Sent and not yet answered, per receiver system: seq → when it was sent.
  readonly #inFlight = new Map<string, Map<number, { entry: OutboxEntry; sentAt: number }>>();
  #pumping = false;
  #again = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #loaded = false;
  // When the last pass found something due next (ms), for the timer.
  #nextDue = Infinity;
  // Where each node was last seen, so events for a node that is away still join its system's stream.
  readonly #routes = new Map<string, string>();
  readonly #storage: Storage;
  readonly #prefix: string;
  // Receivers that are away: the highest position already handed to the hub for its log, and which
  // streams grew since (only those are looked at again).
  readonly #parkedTo = new Map<string, number>();
  readonly #grown = new Set<string>();
  // Entries being dead-lettered (`n@system`): a pass or a late answer must not bury them twice.
  readonly #burying = new Set<string>();

  constructor(
    options: DurableOptions,
    private readonly host: DurableHost,
  ) {
    const prefix = options.prefix ?? 'happen/mesh/';
    this.#storage = options.storage;
    this.#prefix = prefix;
    this.#outbox = new Outbox(options.storage, `${prefix}out/`);
    const inbox = new Inbox(options.storage, `${prefix}in/`, options.dedupeWindowMs ?? 86_400_000);
    this.#receiver = new DurableReceiver(inbox, host, options.ackTimeoutMs ?? 5_000);
    this.#dead = new DeadLetterStore(options.storage, `${prefix}dead/`);
    this.#ackTimeout = options.ackTimeoutMs ?? 5_000;
    this.#maxAttempts = options.maxAttempts ?? 8;
    this.#maxAge = options.maxAgeMs ?? 86_400_000;
    this.#window = options.window ?? 256;
    this.#retry = options.retry ?? {};
    this.ready = Promise.all([this.#outbox.open(), inbox.open(Date.now()), this.loadRoutes()]).then(() => {
      this.#loaded = true;
      for (const system of this.#outbox.systems()) this.#grown.add(system);
      this.pump();
    });
    this.ready.catch(() => {});
    this.deadLetters = {
      list: () => this.#dead.list(),
      get: (key) => this.#dead.get(key),
      redrive: (key) => this.redrive(key),
      discard: (key) => this.#dead.delete(key),
    };
  }

  /** Makes an event leaving this system durable; resolves once it is in the outbox. */
  async accept(event: HappenEvent): Promise<void> {
    if (!this.#loaded) await this.ready;
    const systems = this.receiversOf(event);
    await this.#outbox.append(event, Date.now(), systems);
    for (const system of systems) this.#grown.add(system);
    this.pump();
  }

  /** A node was announced by a system: remember it, so its events go to that system's stream while it is away. */
  learn(node: string, system: string): void {
    if (this.#routes.get(node) === system) return;
    this.#routes.set(node, system);
    void this.#storage.put(`${this.#prefix}r/${node}`, system).catch(() => {});
  }

  /** Whether the outbox carries this event (so the mesh does not also send it the plain way). */
  holds(eventId: string): boolean {
    return this.#outbox.holds(eventId);
  }

  queue(): QueueStats {
    return this.#outbox.stats(Date.now());
  }

  /** Sends what can be sent now. Passes never overlap; a request during one runs another after it. */
  pump(): void {
    if (this.#closed) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    void this.pass()
      .catch((error) => this.host.report('happen.error', { ...HappenError.from(error).toJSON(), where: 'durable delivery' }))
      .finally(() => {
        this.#pumping = false;
        if (this.#again) {
          this.#again = false;
          this.pump();
        } else this.schedule();
      });
  }

  /** A durable event frame arrived; false when it is not for this system. */
  receiveEvent(frame: EventFrame, transport: Transport): boolean {
    if (frame.delivery!.to !== this.host.systemId) return false;
    void this.ready.then(() => this.#receiver.arrive(frame, transport));
    return true;
  }

  /** An ack frame arrived. */
  receiveAck(frame: AckFrame): void {
    if (frame.to !== this.host.systemId) return;
    void this.ready.then(() => {
      for (const ack of frame.acks) this.answer(frame.system, ack);
      this.pump();
    });
  }

  /** Stops timers; nothing is lost — the outbox and inbox are already durable. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#outbox.close();
  }

  // Numbers new entries in emit order, then sends from the head of each receiver's stream until its
  // window is full: the work per pass is the window, not the queue. Notes when the next one is due.
  private async pass(): Promise<void> {
    await this.ready;
    const now = Date.now();
    let due = Infinity;
    this.expireInFlight(now);
    for (const entry of this.#outbox.unassigned()) {
      if (this.#closed) return;
      const systems = this.receiversOf(entry.event);
      if (systems.length === 0) {
        if (now - entry.createdAt > this.#maxAge) await this.bury(entry, undefined, noReceiver(entry.event));
        else due = Math.min(due, now + this.#ackTimeout); // waiting for a receiver to appear
        continue;
      }
      await this.#outbox.assign(entry, systems, now); // positions are durable before anything is sent
      for (const system of systems) this.#grown.add(system);
    }
    for (const system of this.#outbox.systems()) {
      const flying = this.flying(system);
      for (const f of flying.values()) due = Math.min(due, f.sentAt + this.#ackTimeout);
      const transport = this.host.transportTo(system);
      if (transport === undefined) {
        await this.expireAway(system, now);
        this.park(system); // away: the hub keeps a copy; resent for real once it is back
        continue;
      }
      this.#parkedTo.delete(system);
      for (const [seq, entry] of this.#outbox.stream(system)) {
        if (this.#closed) return;
        if (flying.size >= this.#window) break;
        if (flying.has(seq)) continue;
        const state = entry.targets![system]!;
        if (state.nextAt > now) {
          due = Math.min(due, state.nextAt);
          continue;
        }
        if (state.attempts >= this.#maxAttempts) {
          await this.bury(entry, system, state.lastError ?? unacked(entry.event, state.attempts));
          continue;
        }
        state.attempts++;
        flying.set(seq, { entry, sentAt: now });
        due = Math.min(due, now + this.#ackTimeout);
        this.host.send(this.frameOf(entry, system, seq), transport);
      }
    }
    this.#nextDue = due;
  }

  // A broadcast is for every system here and every system this one has a stream with (away or not);
  // a send for the system hosting its target now, or where it was last seen.
  private receiversOf(event: HappenEvent): string[] {
    const target = event.context.target;
    if (target === undefined) return [...new Set([...this.host.peers(), ...this.#outbox.receivers()])];
    const system = this.host.hostOf(target) ?? this.#routes.get(target);
    return system === undefined ? [] : [system];
  }

  // Hands the hub, once, what a receiver that is away has not got yet, for its log. Not an attempt:
  // attempts count only while the receiver can answer.
  private park(system: string): void {
    const hub = this.host.hubLink();
    if (hub === undefined || !this.#grown.has(system)) return;
    this.#grown.delete(system);
    const from = this.#parkedTo.get(system) ?? 0;
    let to = from;
    for (const [seq, entry] of this.#outbox.stream(system)) {
      if (seq <= from) continue;
      to = seq;
      this.host.send(this.frameOf(entry, system, seq), hub);
    }
    this.#parkedTo.set(system, to);
  }

  // A receiver away longer than `maxAgeMs` is given up on, oldest first (each event one dead letter).
  private async expireAway(system: string, now: number): Promise<void> {
    for (const [, entry] of this.#outbox.stream(system)) {
      if (now - entry.createdAt <= this.#maxAge) return;
      await this.bury(entry, system, new HappenError('runtime', 'RECEIVER_AWAY', `System "${system}" did not come back within ${this.#maxAge} ms for ${entry.event.type} (${entry.event.id})`, { system, eventId: entry.event.id }));
    }
  }

  private async loadRoutes(): Promise<void> {
    const prefix = `${this.#prefix}r/`;
    for (const [key, system] of await this.#storage.list<string>({ prefix })) this.#routes.set(key.slice(prefix.length), system);
  }

  private answer(system: string, ack: DeliveryAck): void {
    const flying = this.flying(system);
    // A receiver works through a stream in order, so the frames behind the one it answers are
    // waiting their turn, not lost: their deadlines restart (else a window deeper than the ack
    // timeout's worth of handling is resent again and again while the receiver is busy).
    const now = Date.now();
    for (const f of flying.values()) f.sentAt = now;
    const entry = flying.get(ack.seq)?.entry ?? this.#outbox.stream(system).get(ack.seq);
    const state = entry?.targets?.[system];
    if (!entry || !state || state.seq !== ack.seq) return; // settled already: a late or repeated answer
    if (ack.status === 'progress') return; // the receiver is still at it: the deadline was extended above
    flying.delete(ack.seq);
    if (ack.status === 'ack') {
      void this.#outbox.finish(entry, system);
      return;
    }
    state.lastError = ack.error;
    if (ack.status === 'term' || state.attempts >= this.#maxAttempts) {
      void this.bury(entry, system, ack.error ?? unacked(entry.event, state.attempts));
      return;
    }
    state.nextAt = Date.now() + Math.max(ack.delayMs ?? 0, retryDelay(state.attempts, this.#retry));
    void this.#outbox.save(entry);
  }

  // Sent events whose ack deadline passed are due again after the backoff.
  private expireInFlight(now: number): void {
    for (const flying of this.#inFlight.values()) {
      for (const [seq, f] of flying) {
        if (now - f.sentAt < this.#ackTimeout) continue;
        flying.delete(seq);
        for (const state of Object.values(f.entry.targets ?? {})) {
          if (state.seq !== seq) continue;
          state.nextAt = now + retryDelay(state.attempts, this.#retry);
          state.lastError = unacked(f.entry.event, state.attempts).toJSON();
        }
        void this.#outbox.save(f.entry);
      }
    }
  }

  private async bury(entry: OutboxEntry, system: string | undefined, error: HappenError | SerializedError): Promise<void> {
    const burial = `${entry.n}@${system ?? '-'}`;
    if (this.#burying.has(burial)) return;
    this.#burying.add(burial);
    try {
      await this.buryOnce(entry, system, error);
    } finally {
      this.#burying.delete(burial);
    }
  }

  // The letter is written before the entry leaves the outbox: a crash in between repeats, never loses.
  private async buryOnce(entry: OutboxEntry, system: string | undefined, error: HappenError | SerializedError): Promise<void> {
    const lastError = error instanceof HappenError ? error.toJSON() : error;
    const attempts = system ? (entry.targets?.[system]?.attempts ?? 0) : 0;
    const letter: DeadLetter = { key: `${entry.event.id}@${system ?? '-'}`, event: entry.event, attempts, lastError, deadAt: Date.now(), ...(system ? { system } : {}) };
    await this.#dead.put(letter);
    if (system) await this.#outbox.finish(entry, system);
    else await this.#outbox.remove(entry);
    this.host.report(DEAD_LETTER, { key: letter.key, eventId: entry.event.id, type: entry.event.type, system, attempts, error: lastError });
  }

  private async redrive(key: string): Promise<boolean> {
    await this.ready;
    const letter = await this.#dead.get(key);
    if (!letter) return false;
    if (!this.#outbox.holds(letter.event.id)) {
      const entry = await this.#outbox.append(letter.event, Date.now());
      if (letter.system) await this.#outbox.assign(entry, [letter.system], Date.now());
    }
    await this.#dead.delete(key);
    this.pump();
    return true;
  }

  private frameOf(entry: OutboxEntry, system: string, seq: number): EventFrame {
    return { v: PROTOCOL_VERSION, t: 'event', from: this.host.systemId, event: entry.event, delivery: { to: system, seq, base: this.#outbox.base(system) } };
  }

  private flying(system: string): Map<number, { entry: OutboxEntry; sentAt: number }> {
    let flying = this.#inFlight.get(system);
    if (!flying) this.#inFlight.set(system, (flying = new Map()));
    return flying;
  }

  // The next pass runs when something is due: an ack deadline, a retry time, a receiver to look for.
  private schedule(): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#nextDue === Infinity) return;
    this.#timer = setTimeout(() => this.pump(), Math.max(5, this.#nextDue - Date.now()));
    (this.#timer as { unref?: () => void }).unref?.();
  }
}

function unacked(event: HappenEvent, attempts: number): HappenError {
  return new HappenError('timeout', 'DELIVERY_TIMEOUT', `${event.type} (${event.id}) was not acked after ${attempts} attempt(s)`, { eventId: event.id, attempts });
}

function noReceiver(event: HappenEvent): HappenError {
  const target = event.context.target;
  return target === undefined
    ? new HappenError('runtime', 'NO_RECEIVER', `No system joined the mesh to receive ${event.type} (${event.id}) in time`, { eventId: event.id })
    : new HappenError('runtime', 'NO_SUCH_NODE', `No system announced node "${target}" in time for ${event.type} (${event.id})`, { eventId: event.id, target });
}
