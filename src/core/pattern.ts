import { HappenError } from './errors.ts';

/** A predicate over event types; the compiled form of every pattern. */
export type TypeMatcher = (type: string) => boolean;

/**
 * What `on()` accepts: an exact type (`'order.created'`), a wildcard (`'order.*'` one segment,
 * `'order.**'` any depth including none), alternatives (`'{order,payment}.created'`), or a predicate.
 */
export type Pattern = string | TypeMatcher;

const compiled = new Map<string, TypeMatcher>();
const MAX_CACHED = 2048;

/** Compiles a pattern once into a matcher; string patterns are cached process-wide. */
export function compilePattern(pattern: Pattern): TypeMatcher {
  if (typeof pattern === 'function') return pattern;
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw new HappenError('validation', 'INVALID_PATTERN', `A pattern must be a non-empty string or a predicate (got ${String(pattern)})`);
  }
  let matcher = compiled.get(pattern);
  if (matcher === undefined) {
    matcher = isLiteral(pattern) ? (type) => type === pattern : regexMatcher(pattern);
    if (compiled.size >= MAX_CACHED) compiled.clear();
    compiled.set(pattern, matcher);
  }
  return matcher;
}

/** True when a string pattern has no wildcard or alternative, so it can be indexed by type. */
export function isLiteral(pattern: Pattern): pattern is string {
  return typeof pattern === 'string' && !/[*{}]/.test(pattern);
}

/** Matches exactly one type, even if it contains pattern characters. */
export function exact(type: string): TypeMatcher {
  return (t) => t === type;
}

/** Matches a domain and everything under it: `domain('order')` matches `order` and `order.x.y`. */
export function domain(name: string): TypeMatcher {
  const prefix = name + '.';
  return (t) => t === name || t.startsWith(prefix);
}

/** Matches when any of the patterns matches. */
export function oneOf(...patterns: Pattern[]): TypeMatcher {
  const matchers = patterns.map(compilePattern);
  return (t) => matchers.some((m) => m(t));
}

/** Matches when the pattern does not. */
export function not(pattern: Pattern): TypeMatcher {
  const matcher = compilePattern(pattern);
  return (t) => !matcher(t);
}

const SEGMENT = '[^.]+';

function regexMatcher(pattern: string): TypeMatcher {
  if (pattern === '**') return () => true;
  const regex = new RegExp('^(?:' + expandBraces(pattern).map(toRegexSource).join('|') + ')$');
  return (type) => regex.test(type);
}

const MAX_ALTERNATIVES = 256;

// `{a,b}` means "the pattern with a, or with b": expanding first keeps `**` semantics exact.
function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open === -1) {
    if (pattern.includes('}')) throw unbalanced(pattern);
    return [pattern];
  }
  let depth = 0;
  const cuts: number[] = [];
  let close = -1;
  for (let i = open; i < pattern.length && close === -1; i++) {
    const c = pattern[i];
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) close = i;
    else if (c === ',' && depth === 1) cuts.push(i);
  }
  if (close === -1 || pattern.slice(0, open).includes('}')) throw unbalanced(pattern);
  const bounds = [open, ...cuts, close];
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  const out: string[] = [];
  for (let k = 0; k < bounds.length - 1; k++) {
    for (const expanded of expandBraces(head + pattern.slice(bounds[k]! + 1, bounds[k + 1]) + tail)) {
      out.push(expanded);
      if (out.length > MAX_ALTERNATIVES) {
        throw new HappenError('validation', 'INVALID_PATTERN', `Pattern ${JSON.stringify(pattern)} expands to over ${MAX_ALTERNATIVES} alternatives`);
      }
    }
  }
  return out;
}

// Translates a brace-free pattern; `**` spans zero or more whole segments.
function toRegexSource(pattern: string): string {
  let out = '';
  const startsSegment = (i: number) => i === 0 || pattern[i - 1] === '.';
  const endsSegment = (i: number) => i >= pattern.length || pattern[i] === '.';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '.' && pattern.startsWith('**', i + 1) && endsSegment(i + 3)) {
      out += `(?:\\.${SEGMENT})*`;
      i += 2;
    } else if (c === '*' && pattern[i + 1] === '*' && startsSegment(i) && pattern[i + 2] === '.') {
      out += `(?:${SEGMENT}\\.)*`;
      i += 2;
    } else if (c === '*' && pattern[i + 1] === '*' && startsSegment(i) && endsSegment(i + 2)) {
      out += `${SEGMENT}(?:\\.${SEGMENT})*`;
      i += 1;
    } else if (c === '*') {
      const first = i;
      while (pattern[i + 1] === '*') i++;
      out += startsSegment(first) && endsSegment(i + 1) ? SEGMENT : '[^.]*';
    } else {
      out += c.replace(/[\\^$+?.()|[\]{}]/g, '\\$&');
    }
  }
  return out;
}

function unbalanced(pattern: string): HappenError {
  return new HappenError('validation', 'INVALID_PATTERN', `Unbalanced braces in pattern ${JSON.stringify(pattern)}`);
}
