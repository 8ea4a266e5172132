/**
 * PowerShell's characters and quoted text, for the scanner (powershell-scan.ts): which
 * characters quote, space and end lines (the typographic quotes PowerShell also accepts
 * included), and the readers of strings and here-strings, which hand every `$( )` inside
 * expandable text back to the scanner, since a command can hide there.
 */

import { SAFE_STATIC_TYPES } from './powershell-words.js';

/** The script holds a construct whose commands cannot be determined; never says which (no echo). */
export class Unclassifiable extends Error {}

export const SQ = "'\u2018\u2019\u201a\u201b";
export const DQ = '"\u201c\u201d\u201e';
// ASCII only: other characters outside strings and comments are refused, so no Unicode
// space can split tokens differently from PowerShell.
export const SPACE = ' \t\f\v';
export const NEWLINE = '\r\n';

/** Whether `ch` is one of `set`; the end of the script ('') never is. */
export function isIn(set: string, ch: string): boolean {
  return ch !== '' && set.includes(ch);
}

/** Scans the `$(` at `at` and returns where its `)` ends. */
export type Subexpression = (at: number) => number;

/**
 * The string whose opening quote is at `start`: where it ends, and its text when literal
 * (single-quoted, or double-quoted without `$` or escapes). Unterminated: Unclassifiable.
 */
export function readString(
  src: string,
  start: number,
  sub: Subexpression,
): { end: number; literal: string | undefined } {
  const single = isIn(SQ, src[start] ?? '');
  const quotes = single ? SQ : DQ;
  let text = '';
  let literal = true;
  let i = start + 1;
  for (;;) {
    const c = src[i] ?? '';
    if (c === '') throw new Unclassifiable();
    if (isIn(quotes, c)) {
      if (isIn(quotes, src[i + 1] ?? '')) {
        text += c;
        i += 2;
        continue;
      }
      return { end: i + 1, literal: literal ? text : undefined };
    }
    if (!single && c === '`') {
      literal = false;
      i += 2;
    } else if (!single && c === '$') {
      literal = false;
      i = src[i + 1] === '(' ? sub(i) : src[i + 1] === '{' ? bracedName(src, i) : i + 1;
    } else {
      text += c;
      i += 1;
    }
  }
}

/** Past `${name}` inside an expandable string: a plain name only (no quote can hide in it). */
function bracedName(src: string, at: number): number {
  const m = /^\$\{[A-Za-z0-9_:?]+\}/.exec(src.slice(at, at + 260));
  if (m === null) throw new Unclassifiable();
  return at + m[0].length;
}

/**
 * The here-string whose quote (after `@`) is at `start`: from the line after the opener to
 * a line starting with the closing quote and `@`; returns where it ends.
 */
export function readHereString(src: string, start: number, sub: Subexpression): number {
  const single = isIn(SQ, src[start] ?? '');
  const quotes = single ? SQ : DQ;
  let i = start + 1;
  while (isIn(SPACE, src[i] ?? '')) i += 1;
  if (!isIn(NEWLINE, src[i] ?? '')) throw new Unclassifiable();
  for (;;) {
    const c = src[i] ?? '';
    if (c === '') throw new Unclassifiable();
    if (isIn(NEWLINE, c)) {
      i += c === '\r' && src[i + 1] === '\n' ? 2 : 1;
      if (isIn(quotes, src[i] ?? '') && src[i + 1] === '@') return i + 2;
    } else if (!single && c === '$' && src[i + 1] === '(') {
      i = sub(i);
    } else i += !single && c === '`' ? 2 : 1;
  }
}

/** Past a `#` comment, to the end of its line. */
export function skipLineComment(src: string, start: number): number {
  let i = start;
  while (i < src.length && !isIn(NEWLINE, src[i] ?? '')) i += 1;
  return i;
}

/** Past a `<# … #>` comment (they do not nest). */
export function skipBlockComment(src: string, start: number): number {
  const end = src.indexOf('#>', start + 2);
  if (end < 0) throw new Unclassifiable();
  return end + 2;
}

/** Past a variable at `start`: `$name`, `$env:x`, `${...}` (no escapes), `$_`, `$$`, `$?`, `$^`, `@splat`. */
export function readVariable(src: string, start: number): number {
  const i = start + 1;
  if (src[i] === '{') {
    const end = src.indexOf('}', i);
    if (end < 0 || src.slice(i, end).includes('`')) throw new Unclassifiable();
    return end + 1;
  }
  if (isIn('$?^', src[i] ?? '')) return i + 1;
  const m = /^[A-Za-z0-9_]+(?::[A-Za-z0-9_]+)?/.exec(src.slice(i, i + 256));
  if (m === null) throw new Unclassifiable();
  return i + m[0].length;
}

/** Casts that turn text into code. */
const CODE_TYPES = /scriptblock|powershell|runspace|automation/i;

/**
 * The `[Type]` at `start` (plain names and generic arguments only: no attribute with
 * arguments): where it ends, and whether its static members are safe to call.
 */
export function readTypeLiteral(src: string, start: number): { end: number; safeStatics: boolean } {
  let depth = 0;
  let i = start;
  do {
    const c = src[i] ?? '';
    if (c === '[') depth += 1;
    else if (c === ']') depth -= 1;
    else if (!/^[A-Za-z0-9_., ]$/.test(c)) throw new Unclassifiable();
    i += 1;
  } while (depth > 0);
  const name = src
    .slice(start + 1, i - 1)
    .trim()
    .toLowerCase()
    .replace(/^system\./, '');
  if (CODE_TYPES.test(name)) throw new Unclassifiable();
  return { end: i, safeStatics: SAFE_STATIC_TYPES.has(name) };
}

/** `2>&1` and `> $null` merge or discard output; a redirection to a file is refused. */
export function readRedirection(src: string, start: number): number {
  const m = /^[0-9*]?>>?(?:&[1-6]|[ \t]*\$null\b)/i.exec(src.slice(start, start + 16));
  if (m === null) throw new Unclassifiable();
  return start + m[0].length;
}
