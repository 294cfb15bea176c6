/** Runs one attempt of a step or a compensation: its context, its send, its timeout, its outcome. */
import { HappenError, type SerializedError } from '../core/errors.ts';
import type { EventInput, HappenEvent } from '../core/event.ts';
import type { HappenNode } from '../core/node-api.ts';
import type { SendResult } from '../core/send-handle.ts';
import type { StepAction, StepContext, StepData, StepSend } from './types.ts';

/** How an attempt ended. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: SerializedError };

/** Where a context's events come from and what they are linked to. */
export interface ContextLinks {
  node: HappenNode;
  /** The event that caused this attempt (its `workflow.step.started`). */
  causeId: string | undefined;
  correlationId: string;
}

/** The fields of a step context that differ per attempt. */
export interface ContextFields {
  workflowId: string;
  instanceId: string;
  stepId: string;
  input: unknown;
  data: StepData;
  attempt: number;
  idempotencyKey: string;
  signal: AbortSignal;
}

/** Builds a step context (plus `extra` fields) whose sends and broadcasts join the instance's causal tree. */
export function stepContext(fields: ContextFields, links: ContextLinks, extra: Record<string, unknown> = {}): StepContext {
  const linked = (input: EventInput): EventInput => {
    if (typeof input !== 'object' || input === null) return input; // core rejects it with INVALID_EVENT
    return {
      ...input,
      causationId: input.causationId ?? links.causeId,
      correlationId: input.correlationId ?? links.correlationId,
      context: { idempotencyKey: fields.idempotencyKey, ...input.context },
    };
  };
  return {
    ...fields,
    ...extra,
    send: <T>(target: string, input: EventInput): SendResult<T> => links.node.send<T>(target, linked(input)),
    broadcast: (input: EventInput): HappenEvent => links.node.broadcast(linked(input)),
  };
}

/**
 * Runs `action` with `ctx`: a function's value (a returned send is awaited for its reply) or a send's
 * reply. Never rejects. With `timeoutMs`, a slow attempt fails with `TIMEOUT` and its signal aborts;
 * `controller` aborting (the workflow closing) ends it at once with the abort reason.
 */
export function runAction(action: StepAction<any>, ctx: StepContext, controller: AbortController, timeoutMs: number | undefined): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = (outcome: Outcome) => {
      if (timer !== undefined) clearTimeout(timer);
      controller.signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const onAbort = () => done({ ok: false, error: serializeError(controller.signal.reason) });
    if (controller.signal.aborted) return onAbort();
    controller.signal.addEventListener('abort', onAbort);
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timer = undefined;
        controller.abort(new HappenError('timeout', 'TIMEOUT', `Step "${ctx.stepId}" of ${ctx.workflowId} took longer than ${timeoutMs} ms`, { timeout: timeoutMs }));
      }, timeoutMs);
    }
    attempt(action, ctx, timeoutMs).then(
      (value) => done({ ok: true, value }),
      (error) => done({ ok: false, error: serializeError(error) }),
    );
  });
}

async function attempt(action: StepAction<any>, ctx: StepContext, timeoutMs: number | undefined): Promise<unknown> {
  if (typeof action === 'function') {
    const value = await action(ctx);
    return isSendResult(value) ? value.return(timeoutMs === undefined ? undefined : { timeout: timeoutMs }) : value;
  }
  const spec = (action as StepSend).send(ctx.input, ctx.data);
  if (typeof spec !== 'object' || spec === null || typeof spec.target !== 'string' || typeof spec.event !== 'object' || spec.event === null) {
    throw new HappenError('validation', 'INVALID_STEP_SEND', `Step "${ctx.stepId}": send() must return { target, event } (got ${describe(spec)})`);
  }
  return ctx.send(spec.target, spec.event).return(timeoutMs === undefined ? undefined : { timeout: timeoutMs });
}

function isSendResult(value: unknown): value is SendResult {
  return typeof value === 'object' && value !== null && typeof (value as SendResult).return === 'function' && typeof (value as SendResult).event === 'object';
}

/**
 * Any thrown value as a storable error: a `HappenError` keeps its category and code, an `Error` is a
 * `HANDLER_ERROR`, and anything else (a string, a number, an object) becomes one whose message shows it.
 */
export function serializeError(cause: unknown): SerializedError {
  const error = cause instanceof Error || isSerialized(cause) ? HappenError.from(cause) : new HappenError('runtime', 'HANDLER_ERROR', `Threw a non-error value: ${describe(cause)}`);
  const json = error.toJSON();
  if (json.details === undefined) return { category: json.category, code: json.code, message: json.message };
  try {
    return { ...json, details: JSON.parse(JSON.stringify(json.details)) };
  } catch {
    return { category: json.category, code: json.code, message: json.message }; // details that cannot be stored are dropped
  }
}

const CATEGORIES = new Set(['validation', 'security', 'runtime', 'network', 'timeout']);

function isSerialized(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return CATEGORIES.has(v.category as string) && typeof v.code === 'string' && typeof v.message === 'string';
}

/** True when a value survives every backend: structured-cloneable and JSON-measurable. */
export function storable(value: unknown): boolean {
  try {
    structuredClone(value);
    JSON.stringify(value);
    return true;
  } catch {
    return false;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
