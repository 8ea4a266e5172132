/**
 * Glob patterns for policy (target patterns, command allow/deny lists). `*` is one or more
 * characters of any kind, `?` exactly one; every other character is literal. Consecutive
 * `*` collapse into one, so `**` means the same as `*`.
 *
 * Patterns become anchored RegExps compiled once and cached. A naive translation
 * (`*` → `.+`) backtracks polynomially on `*a*a*a…` against a long near-miss, so the
 * translation commits to the leftmost match of each fixed-length segment between stars
 * with an atomic lookahead: `(?=([^]*?SEG))\N` consumes exactly what the lookahead found
 * and can never be re-entered. Leftmost is always a right choice for glob matching (a
 * later match only leaves less text for the rest), so this is exact and O(text × pattern).
 */
import { InvalidArgumentError } from '../base/errors.js';

export const MAX_PATTERN_LENGTH = 256;

// Control characters (newlines included) have no business in a policy pattern.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const SYNTAX = /[\\^$.*+?()[\]{}|/]/g;
const ANY = '[^]';

/** Why `pattern` cannot be a glob, as fixed text; undefined when it can. */
export function globProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string') return 'must be a string';
  if (pattern === '') return 'must not be empty';
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return `must be at most ${MAX_PATTERN_LENGTH} characters long`;
  }
  if (CONTROL.test(pattern)) return 'must not contain control characters';
  return undefined;
}

function escapeLiteral(text: string): string {
  return text.replace(SYNTAX, '\\$&');
}

/** A segment between stars: literals plus `?`, always of a fixed length. */
function segmentSource(segment: string): string {
  return segment
    .split('?')
    .map((part) => escapeLiteral(part))
    .join(ANY);
}

/** Builds the anchored RegExp for a glob; throws InvalidArgumentError('pattern') if invalid. */
export function compileGlob(pattern: string): RegExp {
  if (globProblem(pattern) !== undefined) throw new InvalidArgumentError('pattern');
  // `*` is "one or more", i.e. `?` followed by "zero or more"; rewriting it that way
  // leaves only zero-or-more stars between fixed-length segments.
  const parts = pattern.replace(/\*+/g, '*').split('*');
  const first = parts[0] ?? '';
  if (parts.length === 1) return new RegExp(`^${segmentSource(first)}$`, 'u');
  const segments = parts.map((part, index) => (index === 0 ? part : `?${part}`));
  const head = segments[0] ?? '';
  const last = segments[segments.length - 1] ?? '';
  let source = `^${segmentSource(head)}`;
  let group = 0;
  for (const middle of segments.slice(1, -1)) {
    group += 1;
    source += `(?=(${ANY}*?${segmentSource(middle)}))\\${group}`;
  }
  // The last segment is pinned to the end; a greedy run before a fixed-length tail
  // backtracks at most once per character.
  source += `${ANY}*${segmentSource(last)}$`;
  return new RegExp(source, 'u');
}

// Patterns come from configuration, so the set is small; the cap only stops a caller that
// feeds request data here from growing the cache without bound.
const CACHE_LIMIT = 4096;
const cache = new Map<string, RegExp>();

function cached(pattern: string): RegExp {
  let regex = cache.get(pattern);
  if (regex === undefined) {
    regex = compileGlob(pattern);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(pattern, regex);
  }
  return regex;
}

/** True when the whole of `value` matches `pattern`; throws on an invalid pattern. */
export function globMatches(pattern: string, value: string): boolean {
  return cached(pattern).test(value);
}

/** True when `pattern` contains a wildcard. */
export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}
