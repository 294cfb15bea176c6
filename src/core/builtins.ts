import type { HandlerContext } from './context.ts';
import { HappenError } from './errors.ts';
import type { HappenEvent } from './event.ts';
import { isThenable } from './continuum.ts';
import type { Middleware } from './middleware.ts';

/** Options for {@link logging}. */
export interface LoggingOptions {
  /** Where lines go (default `console.log`). */
  log?: (line: string) => void;
  /** Log events leaving the node, arriving at it, or both (default both). */
  direction?: 'emit' | 'handle' | 'both';
}

/** Logs every event the node emits and handles, with handling time and failures. */
export function logging(options: LoggingOptions = {}): Middleware {
  const log = options.log ?? ((line: string) => console.log(line));
  const direction = options.direction ?? 'both';
  const mw: Middleware = { name: 'logging' };
  if (direction !== 'handle') {
    mw.emit = (event, next) => {
      log(`[happen] ${event.context.causal.sender} → ${event.context.target ?? '*'} ${event.type} (${event.id})`);
      next(event);
    };
  }
  if (direction !== 'emit') {
    mw.handle = (event, _ctx, next) => {
      const started = Date.now();
      const done = (status: string) => log(`[happen] ${event.type} from ${event.context.causal.sender} ${status} in ${Date.now() - started} ms`);
      const fail = (error: unknown) => {
        done(`failed (${HappenError.from(error).code})`);
        throw error;
      };
      try {
        const result = next();
        if (!isThenable(result)) return (done('handled'), result);
        return Promise.resolve(result).then((value) => (done('handled'), value), fail);
      } catch (error) {
        return fail(error);
      }
    };
  }
  return mw;
}

/** Options for {@link rateLimit}. */
export interface RateLimitOptions {
  /** Events allowed per window and key. */
  limit: number;
  /** Window length in milliseconds. */
  windowMs: number;
  /** What is limited (default: the sender's node id). */
  key?: (event: HappenEvent) => string;
}

/** Rejects events beyond `limit` per `windowMs` per key with a `RATE_LIMITED` runtime error event. */
export function rateLimit(options: RateLimitOptions): Middleware {
  if (!(options.limit > 0) || !(options.windowMs > 0)) {
    throw new HappenError('validation', 'INVALID_CONFIG', 'rateLimit needs a positive limit and windowMs');
  }
  const keyOf = options.key ?? ((event: HappenEvent) => event.context.causal.sender);
  const windows = new Map<string, { start: number; count: number }>();
  return {
    name: 'rateLimit',
    handle(event, _ctx, next) {
      const now = Date.now();
      const key = keyOf(event);
      let window = windows.get(key);
      if (!window || now - window.start >= options.windowMs) {
        if (windows.size > 10_000) windows.clear(); // bound memory when keys are unbounded
        window = { start: now, count: 0 };
        windows.set(key, window);
      }
      if (++window.count > options.limit) {
        throw new HappenError('runtime', 'RATE_LIMITED', `Rate limit of ${options.limit} per ${options.windowMs} ms exceeded for ${key}`, {
          key,
          retryAfterMs: window.start + options.windowMs - now,
        });
      }
      return next();
    },
  };
}

/** Lets an event reach the handlers only when `allow` says so; otherwise a `security` error event. */
export function authorize(allow: (event: HappenEvent, ctx: HandlerContext) => boolean | Promise<boolean>): Middleware {
  const deny = (event: HappenEvent) =>
    new HappenError('security', 'UNAUTHORIZED', `${event.context.causal.sender} may not send ${event.type}`, {
      sender: event.context.causal.sender,
      type: event.type,
    });
  return {
    name: 'authorize',
    handle(event, ctx, next) {
      const allowed = allow(event, ctx);
      if (isThenable(allowed)) {
        return Promise.resolve(allowed).then((ok) => {
          if (!ok) throw deny(event);
          return next();
        });
      }
      if (!allowed) throw deny(event);
      return next();
    },
  };
}
