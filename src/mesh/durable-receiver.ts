import { HappenError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';
import type { Outcome } from '../core/hooks.ts';
import { PROTOCOL_VERSION, type DeliveryAck, type EventFrame, type Frame } from '../transports/frames.ts';
import type { Transport } from '../transports/transport.ts';
import { underDelivery } from './delivery-control.ts';
import { RETRY_LATER, TERMINATE } from './delivery-errors.ts';
import type { Inbox } from './inbox.ts';
import { enqueueMicrotask } from '../core/microtask.ts';

/** What the receiving side needs from its mesh. */
export interface ReceiverHost {
  readonly systemId: string;
  send(frame: Frame, transport: Transport): void;
  ingest(event: HappenEvent, handled: (outcome: Outcome) => void): Promise<unknown>;
  report(type: string, payload: unknown): void;
}

/**
 * The receiving side of durable delivery: hands each sender's stream to the nodes in order, one event
 * at a time, deduped by id; acks once the handling is durable, nacks a failure, reports progress while
 * a handler runs, and honours a handler's own decision (`delivery(event)`).
 */
export class DurableReceiver {
  // Acks to send, per (transport, sender system), flushed once per microtask.
  readonly #acks = new Map<Transport, Map<string, DeliveryAck[]>>();
  #acksQueued = false;

  constructor(
    private readonly inbox: Inbox,
    private readonly host: ReceiverHost,
    private readonly ackTimeout: number,
  ) {}

  /** A durable frame for this system arrived (the inbox is loaded). */
  arrive(frame: EventFrame, transport: Transport): void {
    const arrival = this.inbox.arrive(frame);
    if (arrival === 'duplicate') this.queueAck(transport, frame.from, { seq: frame.delivery!.seq, status: 'ack' });
    else if (arrival === 'deliver') this.handle(frame, transport);
  }

  private handle(frame: EventFrame, transport: Transport): void {
    const seq = frame.delivery!.seq;
    if (this.inbox.seen(frame.event.id)) {
      this.settle(frame, transport, { seq, status: 'ack' }); // handled before (a redrive, a second path)
      return;
    }
    // A long handler keeps its event from being redelivered meanwhile.
    const progress = setInterval(() => this.queueAck(transport, frame.from, { seq, status: 'progress' }), Math.max(10, this.ackTimeout / 2));
    let decided = false;
    const finish = (ack: DeliveryAck) => {
      if (decided) return; // the handler decided already (delivery(event).ack() and the like)
      decided = true;
      clearInterval(progress);
      unregister();
      if (ack.status === 'nack') {
        this.inbox.release(frame);
        this.queueAck(transport, frame.from, ack);
      } else this.settle(frame, transport, ack);
    };
    const unregister = underDelivery(frame.event.id, {
      ack: () => finish({ seq, status: 'ack' }),
      nack: (delayMs) => finish({ seq, status: 'nack', ...(delayMs !== undefined && delayMs >= 0 ? { delayMs: Math.round(delayMs) } : {}) }),
      inProgress: () => this.queueAck(transport, frame.from, { seq, status: 'progress' }),
      term: (reason) => finish({ seq, status: 'term', error: new HappenError('runtime', TERMINATE, reason).toJSON() }),
    });
    this.host
      .ingest(frame.event, (outcome) => finish(outcome.ok ? { seq, status: 'ack' } : failed(seq, outcome.error)))
      .catch((refused) => finish({ seq, status: 'term', error: HappenError.from(refused).toJSON() })); // refused at the door: retrying cannot help
  }

  // The next event of the stream is handed over at once, while this one's position is being written
  // (writes group); its ack leaves only once that write is durable, so an acked event is never handled
  // again after a restart. A failed write rewinds the position: the sender, never acked, resends.
  private settle(frame: EventFrame, transport: Transport, ack: DeliveryAck): void {
    this.inbox.done(frame, Date.now(), ack.status !== 'term').then(
      () => this.queueAck(transport, frame.from, ack),
      (error) => {
        this.inbox.rewind(frame);
        this.host.report('happen.error', { ...HappenError.from(error).toJSON(), where: 'durable delivery inbox' });
      },
    );
    const next = this.inbox.takeNext(frame.from);
    if (next) this.arrive(next, transport);
  }

  private queueAck(transport: Transport, sender: string, ack: DeliveryAck): void {
    let bySender = this.#acks.get(transport);
    if (!bySender) this.#acks.set(transport, (bySender = new Map()));
    let list = bySender.get(sender);
    if (!list) bySender.set(sender, (list = []));
    list.push(ack);
    if (this.#acksQueued) return;
    this.#acksQueued = true;
    enqueueMicrotask(() => {
      this.#acksQueued = false;
      for (const [t, senders] of this.#acks) {
        for (const [to, acks] of senders) this.host.send({ v: PROTOCOL_VERSION, t: 'ack', system: this.host.systemId, to, acks }, t);
      }
      this.#acks.clear();
    });
  }
}

// What a failed handling asks of the sender: never again (terminate), or again, after a delay if asked.
function failed(seq: number, error: HappenError): DeliveryAck {
  if (error.code === TERMINATE) return { seq, status: 'term', error: error.toJSON() };
  const delay = error.code === RETRY_LATER ? Number((error.details as { delayMs?: unknown } | undefined)?.delayMs) : NaN;
  return { seq, status: 'nack', error: error.toJSON(), ...(Number.isFinite(delay) && delay >= 0 ? { delayMs: Math.round(delay) } : {}) };
}
