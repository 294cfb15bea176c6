import type { SerializedError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';
import type { Storage } from '../storage/storage.ts';

/** An event given up on for one receiver system, kept until it is redriven or discarded. */
export interface DeadLetter {
  /** `<event id>@<receiver system>`. */
  key: string;
  event: HappenEvent;
  /** The receiver system it never reached (or that refused it); `undefined` if none was ever found. */
  system?: string;
  attempts: number;
  lastError?: SerializedError;
  /** When it was given up (ms). */
  deadAt: number;
}

/** The dead-letter queue: list, inspect, redrive (idempotent) and discard what durable delivery gave up on. */
export interface DeadLetters {
  list(): Promise<DeadLetter[]>;
  get(key: string): Promise<DeadLetter | undefined>;
  /**
   * Sends a dead letter again, with fresh attempts, and removes it. Redriving the same letter twice,
   * or one whose event is already on its way, changes nothing; the receiver also drops an id it already handled.
   */
  redrive(key: string): Promise<boolean>;
  discard(key: string): Promise<boolean>;
}

/** The storage side of the dead-letter queue. */
export class DeadLetterStore {
  constructor(
    private readonly storage: Storage,
    private readonly prefix: string,
  ) {}

  put(letter: DeadLetter): Promise<void> {
    return this.storage.put(this.prefix + letter.key, letter);
  }

  async list(): Promise<DeadLetter[]> {
    return (await this.storage.list<DeadLetter>({ prefix: this.prefix })).map(([, letter]) => letter);
  }

  get(key: string): Promise<DeadLetter | undefined> {
    return this.storage.get<DeadLetter>(this.prefix + key);
  }

  delete(key: string): Promise<boolean> {
    return this.storage.delete(this.prefix + key);
  }
}
