/** The JetStream side of the NATS transport: the stream that stores durable frames and each system's consumer. */
import type { NatsConnection } from '@nats-io/nats-core';
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import type { NatsDurableOptions } from './nats.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const nanos = (ms: number) => Math.round(ms * 1_000_000);

/**
 * Makes sure the stream capturing `happen.<mesh>.durable.>` and this system's durable consumer of
 * `subject` exist, creating what is missing; another system creating the same stream at the same
 * moment is fine (theirs is as good as ours).
 */
export async function ensureDurable(conn: NatsConnection, durable: NatsDurableOptions, streamName: string, mesh: string, subject: string): Promise<void> {
  const jsm = await jetstreamManager(conn);
  try {
    await jsm.streams.info(streamName);
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
    try {
      await jsm.streams.add({ name: streamName, subjects: [`happen.${mesh}.durable.>`], max_age: nanos(durable.maxAgeMs ?? 7 * DAY_MS) });
    } catch (addErr) {
      await jsm.streams.info(streamName).catch(() => Promise.reject(addErr));
    }
  }
  try {
    await jsm.consumers.info(streamName, durable.consumer);
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    await jsm.consumers.add(streamName, {
      durable_name: durable.consumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: durable.deliver === 'all' ? DeliverPolicy.All : DeliverPolicy.New,
      filter_subject: subject,
      ack_wait: nanos(durable.ackWaitMs ?? 30_000),
    });
  }
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}
