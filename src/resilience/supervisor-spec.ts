/** The shape of a supervisor's configuration, and its checks: bad config fails at once with `INVALID_CONFIG`. */
import { HappenError } from '../core/errors.ts';
import type { HappenNode } from '../core/node-api.ts';
import type { Happen } from '../core/system-api.ts';

/** Which children a restart takes down and brings back up (as in Erlang/OTP). */
export type SupervisorStrategy = 'one-for-one' | 'one-for-all' | 'rest-for-one';

/**
 * When a child is restarted: `permanent` after any exit, `transient` only after a crash (not a
 * normal exit), `temporary` never (it is removed from the supervisor once it exits).
 */
export type ChildRestart = 'permanent' | 'transient' | 'temporary';

/** A child that is one node. */
export interface NodeChildSpec {
  id: string;
  /** The child's setup: creates its node and handlers in `happen`. Re-run on every restart. */
  start: (happen: Happen) => HappenNode | Promise<HappenNode>;
  /** When it is restarted (default `permanent`). */
  restart?: ChildRestart;
  /** Cleanup run once for every started node, before the supervisor destroys it. */
  stop?: (node: HappenNode) => void | Promise<void>;
  /** Which handler errors count as a crash (default: any but `validation` ones: a bad event is the sender's fault). */
  crashOn?: (error: HappenError) => boolean;
}

/** A child that is itself a supervisor (same `happen`; `now` defaults to the parent's). Its id is the child's id. */
export interface SupervisorChildSpec {
  id: string;
  supervisor: NestedSupervisorConfig;
  /** When it is restarted after it gives up or exits (default `permanent`). */
  restart?: ChildRestart;
}

/** One child of a supervisor. */
export type ChildSpec = NodeChildSpec | SupervisorChildSpec;

/** The configuration of a supervisor nested in another. */
export type NestedSupervisorConfig = Omit<SupervisorConfig, 'id' | 'happen'>;

/** Configuration of {@link createSupervisor}. */
export interface SupervisorConfig {
  /** Names the supervisor in its events. */
  id: string;
  /** The system its children live in (default `defaultHappen()`). */
  happen?: Happen;
  /** Started in this order, stopped in reverse. */
  children: ChildSpec[];
  strategy: SupervisorStrategy;
  /** Restarts allowed within `restartWindow`; one more and the supervisor gives up (default 3). */
  maxRestarts?: number;
  /** Milliseconds over which restarts are counted (default 5,000). */
  restartWindow?: number;
  /** The clock for the restart window (default `Date.now`). */
  now?: () => number;
}

/** A child spec after its checks, with defaults filled in. */
export interface CheckedChild {
  id: string;
  restart: ChildRestart;
  node?: { start: NodeChildSpec['start']; stop?: NodeChildSpec['stop']; crashOn: (error: HappenError) => boolean };
  supervisor?: CheckedConfig;
}

/** A supervisor config after its checks, with defaults filled in. */
export interface CheckedConfig {
  id: string;
  children: CheckedChild[];
  strategy: SupervisorStrategy;
  maxRestarts: number;
  restartWindow: number;
  now: (() => number) | undefined;
}

const STRATEGIES = new Set<unknown>(['one-for-one', 'one-for-all', 'rest-for-one']);
const RESTARTS = new Set<unknown>(['permanent', 'transient', 'temporary']);

const notValidation = (error: HappenError): boolean => error.category !== 'validation';

/** Checks a whole supervisor tree's config; throws `INVALID_CONFIG` naming the first bad field. */
export function checkConfig(config: unknown, where = 'createSupervisor()', nested = false): CheckedConfig {
  const bad = (message: string): never => {
    throw new HappenError('validation', 'INVALID_CONFIG', `${where}: ${message}`);
  };
  if (typeof config !== 'object' || config === null) bad('the config must be an object');
  const c = config as Record<string, unknown>;
  if (!nested && !isId(c.id)) bad('id must be a non-empty string');
  if (!STRATEGIES.has(c.strategy)) bad(`strategy must be 'one-for-one', 'one-for-all' or 'rest-for-one' (got ${show(c.strategy)})`);
  const maxRestarts = c.maxRestarts ?? 3;
  if (typeof maxRestarts !== 'number' || !Number.isInteger(maxRestarts) || maxRestarts < 0) bad(`maxRestarts must be an integer >= 0 (got ${show(c.maxRestarts)})`);
  const restartWindow = c.restartWindow ?? 5_000;
  if (typeof restartWindow !== 'number' || !(restartWindow > 0) || !Number.isFinite(restartWindow)) bad(`restartWindow must be a positive number of ms (got ${show(c.restartWindow)})`);
  if (c.now !== undefined && typeof c.now !== 'function') bad('now must be a function returning milliseconds');
  if (!Array.isArray(c.children)) bad('children must be an array');
  const seen = new Set<string>();
  const children = (c.children as unknown[]).map((child, i) => {
    const checked = checkChild(child, `${where}: children[${i}]`);
    if (seen.has(checked.id)) bad(`children[${i}]: the id "${checked.id}" is used twice`);
    seen.add(checked.id);
    return checked;
  });
  return {
    id: nested ? '' : (c.id as string),
    children,
    strategy: c.strategy as SupervisorStrategy,
    maxRestarts: maxRestarts as number,
    restartWindow: restartWindow as number,
    now: c.now as (() => number) | undefined,
  };
}

function checkChild(child: unknown, where: string): CheckedChild {
  const bad = (message: string): never => {
    throw new HappenError('validation', 'INVALID_CONFIG', `${where}: ${message}`);
  };
  if (typeof child !== 'object' || child === null) bad('a child spec must be an object');
  const c = child as Record<string, unknown>;
  if (!isId(c.id)) bad('id must be a non-empty string');
  const restart = c.restart ?? 'permanent';
  if (!RESTARTS.has(restart)) bad(`restart must be 'permanent', 'transient' or 'temporary' (got ${show(c.restart)})`);
  const base = { id: c.id as string, restart: restart as ChildRestart };
  if (c.supervisor !== undefined) {
    if (c.start !== undefined || c.stop !== undefined || c.crashOn !== undefined) bad('a child is either a node (start) or a supervisor, not both');
    const nested = checkConfig(c.supervisor, `${where}.supervisor`, true);
    return { ...base, supervisor: { ...nested, id: base.id } };
  }
  if (typeof c.start !== 'function') bad('start must be a function (happen) => node, or give a supervisor config');
  if (c.stop !== undefined && typeof c.stop !== 'function') bad('stop must be a function');
  if (c.crashOn !== undefined && typeof c.crashOn !== 'function') bad('crashOn must be a function');
  return {
    ...base,
    node: {
      start: c.start as NodeChildSpec['start'],
      stop: c.stop as NodeChildSpec['stop'],
      crashOn: (c.crashOn as ((error: HappenError) => boolean) | undefined) ?? notValidation,
    },
  };
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
