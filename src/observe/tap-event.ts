/** What the tap keeps of one relayed event: its routing, its causal context and a payload preview. */
import { ERROR_EVENT, REPLY_EVENT, type HappenEvent } from '../core/event.ts';

/** Characters of payload JSON kept per event. */
export const PREVIEW_CHARS = 300;

/** An event as the tap keeps it: its routing and causal context, and a preview of its payload. */
export interface TappedEvent {
  id: string;
  type: string;
  /** The system that put it on the link (the hub's id for the hub's own answers). */
  system: string;
  sender: string;
  /** The addressed node; absent for a broadcast. */
  target?: string;
  /** The system hosting `target` when the hub relayed it. */
  targetSystem?: string;
  causationId?: string;
  correlationId: string;
  timestamp: number;
  /** When the hub first relayed it (ms). */
  seenAt: number;
  /** How many frames carried it: more than one when durable delivery resent it. */
  frames: number;
  durable?: boolean;
  /** The code of an error event or a failed reply. */
  error?: string;
  /** The payload as JSON, cut at {@link PREVIEW_CHARS} characters. */
  payload: string;
}

/** The tapped form of an event relayed from `system` (to `targetSystem`, when the hub knows it). */
export function summarize(event: HappenEvent, system: string, targetSystem: string | undefined, durable: boolean, seenAt: number): TappedEvent {
  const causal = event.context.causal;
  const tapped: TappedEvent = {
    id: event.id,
    type: event.type,
    system,
    sender: causal.sender,
    correlationId: causal.correlationId,
    timestamp: causal.timestamp,
    seenAt,
    frames: 1,
    payload: preview(event.payload),
  };
  if (event.context.target !== undefined) tapped.target = event.context.target;
  if (targetSystem !== undefined) tapped.targetSystem = targetSystem;
  if (causal.causationId !== undefined) tapped.causationId = causal.causationId;
  if (durable) tapped.durable = true;
  const failed = errorCode(event);
  if (failed !== undefined) tapped.error = failed;
  return tapped;
}

function errorCode(event: HappenEvent): string | undefined {
  const payload = event.payload as { code?: unknown; ok?: unknown; error?: { code?: unknown } } | undefined;
  if (event.type === ERROR_EVENT) return typeof payload?.code === 'string' ? payload.code : 'ERROR';
  if (event.type === REPLY_EVENT && payload?.ok === false) return typeof payload.error?.code === 'string' ? payload.error.code : 'ERROR';
  return undefined;
}

function preview(payload: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(payload) ?? 'undefined';
  } catch {
    text = '[unserializable]';
  }
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text;
}
