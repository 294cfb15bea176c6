/** The kind of failure, shared by every layer so handlers and dashboards can branch on it. */
export type ErrorCategory = 'validation' | 'security' | 'runtime' | 'network' | 'timeout';

/** The one error type Happen throws, rejects with, and carries inside error events. */
export class HappenError extends Error {
  override readonly name = 'HappenError';
  constructor(
    readonly category: ErrorCategory,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** A plain, structured-cloneable form, as carried in error events and replies. */
  toJSON(): SerializedError {
    return { category: this.category, code: this.code, message: this.message, details: this.details };
  }

  /** Rebuilds an error from its serialized form (e.g. from a reply that crossed a transport). */
  static from(value: unknown): HappenError {
    if (value instanceof HappenError) return value;
    if (isSerializedError(value)) return new HappenError(value.category, value.code, value.message, value.details);
    const message = value instanceof Error ? value.message : String(value);
    return new HappenError('runtime', 'HANDLER_ERROR', message, undefined, { cause: value });
  }
}

/** The wire form of a {@link HappenError}. */
export interface SerializedError {
  category: ErrorCategory;
  code: string;
  message: string;
  details?: unknown;
}

const categories = new Set<string>(['validation', 'security', 'runtime', 'network', 'timeout']);

function isSerializedError(value: unknown): value is SerializedError {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return categories.has(v.category as string) && typeof v.code === 'string' && typeof v.message === 'string';
}
