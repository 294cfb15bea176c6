import type { HappenEvent } from '../core/event.ts';

/** A handler's say over a durable event it is handling; without it, success acks and a throw nacks. */
export interface DeliveryControl {
  /** Done: ack now (e.g. before a slow, idempotent follow-up); the flow's outcome no longer matters. */
  ack(): void;
  /** Failed: redeliver after at least `delayMs` (else the retry schedule's delay). */
  nack(delayMs?: number): void;
  /** Still working: extend the ack deadline now (it is also extended automatically while the handler runs). */
  inProgress(): void;
  /** Never retry: the sender dead-letters it with `reason`. */
  term(reason: string): void;
}

// The events being handled under durable delivery right now, by id (a schema handler sees a copy).
const active = new Map<string, DeliveryControl>();

/**
 * The delivery controls of a durable event inside its handler (`delivery(event)?.inProgress()`), or
 * `undefined` when the event did not arrive by durable delivery.
 */
export function delivery(event: HappenEvent): DeliveryControl | undefined {
  return active.get(event.id);
}

/** Registers an event's controls while it is handled; returns the function that unregisters them. */
export function underDelivery(eventId: string, control: DeliveryControl): () => void {
  active.set(eventId, control);
  return () => {
    if (active.get(eventId) === control) active.delete(eventId);
  };
}
