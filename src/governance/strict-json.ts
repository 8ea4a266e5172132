/**
 * A signed token's segments, read one way only. Parsers disagree on a member name that
 * appears twice in an object (JSON.parse keeps the last, others the first, some refuse) and
 * on bytes that are not UTF-8 (replaced, dropped or refused), so such a token could mean
 * one thing to the code that checked it and another to the code that acts on it: both are
 * refused here, at any depth, and what policy reads is the one object the verified bytes
 * can mean. A signature must be spelt the one canonical way, so one token is one token.
 */

// fatal: bytes that are not UTF-8 are an error, not U+FFFD. ignoreBOM: a BOM is kept (and
// then refused by JSON.parse) rather than silently dropped.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The index of the quote that closes the string opening at `start`, in valid JSON. */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i;
}

/**
 * Throws SyntaxError when an object in `text` (already known to be valid JSON) names a
 * member twice. Names are compared decoded, so `"a"` and `"\u0061"` are the same name.
 */
function refuseDuplicateNames(text: string): void {
  // One entry per open container: the names seen so far in an object, null in an array.
  const open: (Set<string> | null)[] = [];
  let nameNext = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') {
      const end = endOfString(text, i);
      const names = open[open.length - 1];
      if (nameNext && names) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (names.has(name)) throw new SyntaxError('duplicate member name');
        names.add(name);
      }
      nameNext = false;
      i = end;
    } else if (c === '{') {
      open.push(new Set());
      nameNext = true;
    } else if (c === '[') {
      open.push(null);
    } else if (c === '}' || c === ']') {
      open.pop();
    } else if (c === ',') {
      nameNext = open[open.length - 1] instanceof Set;
    }
  }
}

/** Parses UTF-8 JSON, refusing invalid UTF-8 and duplicate member names (SyntaxError). */
export function parseStrictJson(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new SyntaxError('not UTF-8');
  }
  const value: unknown = JSON.parse(text);
  refuseDuplicateNames(text);
  return value;
}

/**
 * True when `segment` is the one base64url spelling of its bytes. The last character of a
 * segment has spare bits that decoders ignore, so without this one signature (whose text
 * no signature covers) could travel as several different tokens.
 */
export function isCanonicalSegment(segment: string): boolean {
  return Buffer.from(segment, 'base64url').toString('base64url') === segment;
}

/** A base64url JWS segment (header or payload) as a JSON object; SyntaxError otherwise. */
export function jsonObjectOfSegment(segment: string): Record<string, unknown> {
  const value = parseStrictJson(Buffer.from(segment, 'base64url'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SyntaxError('not a JSON object');
  }
  return value as Record<string, unknown>;
}
