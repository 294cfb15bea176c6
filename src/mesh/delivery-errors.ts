import { HappenError } from '../core/errors.ts';

/** The code of an error that tells durable delivery never to retry an event (it is dead-lettered at once). */
export const TERMINATE = 'DELIVERY_TERMINATED';
/** The code of an error that asks durable delivery to retry an event no sooner than `details.delayMs`. */
export const RETRY_LATER = 'DELIVERY_RETRY_LATER';

/** Throw from a handler to give an event up for good: the sender dead-letters it (`term`). */
export function terminate(reason: string): HappenError {
  return new HappenError('runtime', TERMINATE, reason);
}

/** Throw from a handler to have an event redelivered after at least `delayMs` (`nack` with a delay). */
export function retryLater(delayMs: number, reason = `retry in ${delayMs} ms`): HappenError {
  return new HappenError('runtime', RETRY_LATER, reason, { delayMs });
}
